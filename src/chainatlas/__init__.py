"""ChainAtlas (产业链招商图谱): industry-chain maps and precision investment attraction.

The package reads as the pipeline it is; a stage imports only the stages below it
(checked by the import-linter contract in pyproject.toml)::

    config, errors  environment and default paths; the one error hierarchy
    store/          DuckDB schema and migrations, the one Database class, shared query
                    pieces (query) and lookups of regions, chains and firms (lookup)
    sources/        fetch, parse and normalise the open data, the registry and rosters
    chains/         chain templates, firm -> node classification, placements, corrections
    analysis/       panorama, regional standing, leaders, supply graph, map data, audit
    recommend/      nodes to develop and firms to approach, with reasons; Excel
    build           the pipeline: ingest -> classify -> derived tables
    web/, cli*.py   thin shells over the library
"""

from chainatlas.errors import ChainAtlasError

__version__ = "0.1.0"
__all__ = ["ChainAtlasError", "__version__"]
