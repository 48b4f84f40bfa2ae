"""The pipeline as a ``spark-submit`` application (docs/scale.md).

``spark-submit [resources] …/chainatlas/pipeline/submit.py --input URI --out URI`` runs
every step on the session spark-submit configured, then the relatedness density on the
driver, and prints the run's report as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from chainatlas.pipeline.engines import active_spark, local_spark, run_spark
from chainatlas.pipeline.relatedness import write_relatedness


def main(argv: list[str] | None = None) -> int:
    """Parse ``--input`` and ``--out``, run the pipeline on Spark, print the report."""
    parser = argparse.ArgumentParser(description="ChainAtlas batch pipeline on Spark")
    parser.add_argument("--input", required=True, help="registry Parquet folder or URI")
    parser.add_argument("--out", required=True, help="output folder or URI (s3a://, hdfs://)")
    args = parser.parse_args(argv)
    session = active_spark() or local_spark()
    report = run_spark(args.input, args.out, spark=session)
    report.rows["relatedness"] = write_relatedness(args.out, spark=session)
    sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
