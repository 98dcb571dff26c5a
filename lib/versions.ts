/**
 * Component versions millrace knows how to install. A version outside these lists is a config
 * error rather than a surprise halfway through `up`.
 */
export const KNOWN_VERSIONS = {
  kafka: ['4.0.0', '4.0.1', '4.1.0', '4.1.1'],
  spark: ['4.0.0', '4.0.1', '4.1.0', '4.1.1', '4.2.0'],
  // 3.5.0 is the first Hadoop line that supports Java 17 (HADOOP-19310 needed --add-opens on 3.4.x).
  hadoop: ['3.5.0'],
  java: ['17'],
} as const;

export const DEFAULT_VERSIONS = {
  kafka: '4.1.1',
  // 4.1.0 and 4.1.1 fail a Kafka query restarted from its checkpoint with an NPE in progress
  // reporting (SPARK-57438); 4.1.3 has the fix but its Kafka token provider is not on Maven Central.
  spark: '4.2.0',
  hadoop: '3.5.0',
  java: '17',
} as const;

export type Component = keyof typeof KNOWN_VERSIONS;

/** Scala binary version of the Kafka and Spark builds we install. */
export const SCALA_BINARY = '2.13';
