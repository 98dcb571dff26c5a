"""A cluster check: estimates Pi with Spark executors and reports how many ran.

Usage: spark-submit check_pi.py [partitions]
"""
import random
import sys

from pyspark.sql import SparkSession


def inside(_: int) -> int:
    x, y = random.random() * 2 - 1, random.random() * 2 - 1
    return 1 if x * x + y * y <= 1 else 0


def main() -> None:
    partitions = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    spark = SparkSession.builder.appName("millrace-check-pi").getOrCreate()
    sc = spark.sparkContext
    n = 100_000 * partitions
    rdd = sc.parallelize(range(n), partitions)
    count = rdd.map(inside).reduce(lambda a, b: a + b)
    executors = sc._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
    print(f"Pi is roughly {4.0 * count / n:.5f} (executors: {executors}, tasks: {rdd.getNumPartitions()})")
    spark.stop()


if __name__ == "__main__":
    main()
