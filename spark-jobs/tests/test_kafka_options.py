import pytest
from pyspark import SparkConf

from millrace_pipeline.kafka import KafkaConfError, kafka_sink_options, kafka_source_options
from millrace_pipeline.paths import LakePaths


def millrace_conf() -> SparkConf:
    return (
        SparkConf(loadDefaults=False)
        .set("spark.millrace.kafka.bootstrapServers", "127.0.0.11:9093")
        .set("spark.millrace.kafka.keystore", "/etc/millrace/tls/pipeline.pem")
        .set("spark.millrace.kafka.truststore", "/etc/millrace/tls/ca.pem")
    )


SECURITY = {
    "kafka.bootstrap.servers": "127.0.0.11:9093",
    "kafka.security.protocol": "SSL",
    "kafka.ssl.keystore.type": "PEM",
    "kafka.ssl.keystore.location": "/etc/millrace/tls/pipeline.pem",
    "kafka.ssl.truststore.type": "PEM",
    "kafka.ssl.truststore.location": "/etc/millrace/tls/ca.pem",
}


def test_source_options_use_mtls_and_a_pipeline_group_prefix():
    assert kafka_source_options(millrace_conf(), "flights", "pipeline-ingest-events") == {
        **SECURITY,
        "subscribe": "flights",
        "startingOffsets": "earliest",
        "groupIdPrefix": "pipeline-ingest-events",
        "includeHeaders": "true",
        "failOnDataLoss": "true",
        "kafka.fetch.max.wait.ms": "10",
    }


def test_a_real_time_source_keeps_kafkas_fetch_wait():
    # Its tasks never seek; a short wait would only make its idle fetches busy.
    assert "kafka.fetch.max.wait.ms" not in kafka_source_options(millrace_conf(), "flights", "pipeline-score-kafka", real_time=True)


def test_source_options_carry_offsets_and_the_batch_cap():
    opts = kafka_source_options(millrace_conf(), "flights", "pipeline-score", "latest", 50_000)
    assert opts["startingOffsets"] == "latest"
    assert opts["maxOffsetsPerTrigger"] == "50000"


def test_sink_options_name_the_topic():
    assert kafka_sink_options(millrace_conf(), "flights.predictions") == {**SECURITY, "topic": "flights.predictions"}


def test_the_runtime_conf_of_a_session_works_too(spark):
    spark.conf.set("spark.millrace.kafka.bootstrapServers", "127.0.0.11:9093")
    spark.conf.set("spark.millrace.kafka.keystore", "/k.pem")
    spark.conf.set("spark.millrace.kafka.truststore", "/t.pem")
    try:
        assert kafka_sink_options(spark.conf, "t")["kafka.ssl.keystore.location"] == "/k.pem"
    finally:
        for k in ("bootstrapServers", "keystore", "truststore"):
            spark.conf.unset(f"spark.millrace.kafka.{k}")


def test_missing_confs_are_named_with_what_to_do():
    conf = SparkConf(loadDefaults=False).set("spark.millrace.kafka.bootstrapServers", "127.0.0.11:9093")
    with pytest.raises(KafkaConfError) as err:
        kafka_source_options(conf, "flights", "pipeline-ingest")
    assert str(err.value) == (
        "missing Spark conf spark.millrace.kafka.keystore, spark.millrace.kafka.truststore; millrace writes these "
        "to spark-defaults.conf, so submit the job with `millrace submit` (or pass them with --conf)"
    )


def test_group_prefix_outside_the_acl_is_refused():
    with pytest.raises(KafkaConfError) as err:
        kafka_source_options(millrace_conf(), "flights", "spark-kafka-source")
    assert str(err.value) == "consumer group prefix 'spark-kafka-source' must start with 'pipeline-' (the pipeline principal's ACL)"


def test_group_prefix_must_include_the_dash():
    # "pipelinex" would be another principal's namespace (the ACL is a prefix on "pipeline-").
    with pytest.raises(KafkaConfError) as err:
        kafka_source_options(millrace_conf(), "flights", "pipelinex-ingest")
    assert "must start with 'pipeline-'" in str(err.value)
    # Control: inside the namespace.
    assert kafka_source_options(millrace_conf(), "flights", "pipeline-ingest")["groupIdPrefix"] == "pipeline-ingest"


def test_lake_paths_follow_the_layout():
    paths = LakePaths.from_conf(SparkConf(loadDefaults=False), "flights")
    assert paths.events == "/lake/flights/events"
    assert paths.quarantine == "/lake/flights/quarantine"
    assert paths.predictions == "/lake/flights/predictions"
    assert paths.latest_pointer == "/lake/flights/models/latest"
    assert paths.model("v20261124T231500Z") == "/lake/flights/models/v20261124T231500Z/model"
    assert paths.metrics("v20261124T231500Z") == "/lake/flights/models/v20261124T231500Z/metrics.json"
    assert paths.checkpoint("ingest", "events") == "/lake/_checkpoints/flights-ingest/events"
    custom = LakePaths.from_conf(SparkConf(loadDefaults=False).set("spark.millrace.lake", "hdfs://nn:8020/data/lake/"), "f")
    assert custom.checkpoint("score", "kafka") == "hdfs://nn:8020/data/lake/_checkpoints/f-score/kafka"
