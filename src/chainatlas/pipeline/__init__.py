"""The batch pipeline: registry Parquet in, placements and city × node figures out, on
DuckDB (embedded) or Apache Spark (:mod:`chainatlas.pipeline.engines`), from one SQL
definition (:mod:`chainatlas.pipeline.steps`)."""
