"""Shared code of millrace's Spark jobs (shipped to the cluster as a zip with --py-files).

Pure parts (spec, kafka options, paths, transforms, features, scoring) take and return plain values
or DataFrames; only the job entrypoints and `storage`/`streaming` touch files, Kafka or the clock.
"""
