"""Spark entry point of the anomaly feature job, for spark-submit and EMR.

Only parses arguments, builds the SparkSession and calls wattlake.features.job;
the transforms live in the wattlake package (shipped with --py-files on EMR).

    spark-submit spark/anomaly_features.py --lake s3://bucket/prefix \
        [--start 2025-03-01] [--end 2025-03-31]
"""

import argparse
import logging
import sys
from datetime import date

from pyspark.sql import SparkSession

from wattlake.features.job import JOB_CONFIG, run_features
from wattlake.storage import Lake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Wattlake anomaly features")
    parser.add_argument(
        "--lake", required=True, help="lake root: a path or s3://bucket/prefix"
    )
    parser.add_argument("--start", type=date.fromisoformat, help="first reading date")
    parser.add_argument("--end", type=date.fromisoformat, help="last reading date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    spark = (
        SparkSession.builder.appName("wattlake-anomaly-features")
        .config(map=JOB_CONFIG)
        .getOrCreate()
    )
    try:
        report = run_features(spark, Lake(args.lake), args.start, args.end)
    finally:
        spark.stop()
    logging.info(
        "anomaly features: %d meter-hours (%s to %s) -> %s in %.1f s",
        report.rows,
        report.first_date,
        report.last_date,
        report.output,
        report.seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
