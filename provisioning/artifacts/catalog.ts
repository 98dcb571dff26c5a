/**
 * What each component is made of, per source. The Maven source resolves these coordinates with
 * their transitive dependencies; the PyPI source supplies Spark (the pyspark package carries
 * Spark's jars and scripts).
 */
import { SCALA_BINARY } from '../../lib/versions';
import type { ComponentName } from '../service';

/** Bump when the layout of a component's bundle changes: cached bundles of older layouts are rebuilt. */
export const BUNDLE_REVISION = { kafka: 2, hadoop: 2, spark: 3 } as const satisfies Record<ComponentName, number>;

/**
 * The Prometheus JMX exporter, a java agent each JVM service loads (provisioning/services/metrics.ts).
 * Every component's bundle carries it in agents/, off the classpath.
 */
export const JMX_EXPORTER = { version: '1.0.1', dir: 'agents' } as const;
export const JMX_EXPORTER_JAR = `${JMX_EXPORTER.dir}/jmx_prometheus_javaagent-${JMX_EXPORTER.version}.jar`;
const jmxExporterMaven: MavenBundleSpec = { dir: JMX_EXPORTER.dir, coordinates: [`io.prometheus.jmx:jmx_prometheus_javaagent:${JMX_EXPORTER.version}`] };

export interface MavenBundleSpec {
  /** Directory inside the bundle the jars go to, e.g. "libs" or "kms/lib". */
  dir: string;
  coordinates: string[];
}

export function kafkaMaven(version: string): MavenBundleSpec[] {
  return [
    {
      dir: 'libs',
      coordinates: [
        `org.apache.kafka:kafka_${SCALA_BINARY}:${version}`,
        `org.apache.kafka:kafka-tools:${version}`,
        // Kafka's pom leaves the SLF4J binding to the distribution; its tarball ships this one.
        'org.apache.logging.log4j:log4j-slf4j-impl:2.24.3',
      ],
    },
    jmxExporterMaven,
  ];
}

/**
 * hadoop-kms is not published to Maven Central for 3.5.0 (its newest release there is 3.4.3),
 * so the KMS gets its own classpath from 3.4.3: mixing its Jersey 1 jars into the HDFS classpath
 * breaks the NameNode's Jersey 2 web endpoints.
 */
export const KMS_MAVEN_VERSION: Record<string, string> = { '3.5.0': '3.4.3' };

export function hadoopMaven(version: string): MavenBundleSpec[] {
  return [
    {
      dir: 'lib',
      coordinates: [
        `org.apache.hadoop:hadoop-common:${version}`,
        `org.apache.hadoop:hadoop-hdfs:${version}`,
        `org.apache.hadoop:hadoop-hdfs-client:${version}`,
      ],
    },
    { dir: 'kms/lib', coordinates: [`org.apache.hadoop:hadoop-kms:${KMS_MAVEN_VERSION[version] ?? version}`] },
    jmxExporterMaven,
  ];
}

/** The Structured Streaming Kafka connector, which the pyspark package does not include. */
export function sparkKafkaConnectorMaven(sparkVersion: string): MavenBundleSpec[] {
  return [
    {
      dir: 'connectors/kafka',
      coordinates: [`org.apache.spark:spark-sql-kafka-0-10_${SCALA_BINARY}:${sparkVersion}`, `org.apache.spark:spark-token-provider-kafka-0-10_${SCALA_BINARY}:${sparkVersion}`],
    },
    jmxExporterMaven,
  ];
}

/**
 * Known versions whose Maven bundle cannot be resolved from Maven Central, and why. The artifact
 * lock has no entry for them; `lock:artifacts` skips them and the maven source refuses them early.
 */
export const MAVEN_CENTRAL_GAPS: Record<string, string> = {
  'kafka/4.0.1': 'Maven Central does not publish org.apache.kafka:connect-api, connect-json or connect-transforms 4.0.1, which kafka_2.13 4.0.1 depends on',
  'spark/4.0.1': "Maven Central does not publish org.apache.spark:spark-token-provider-kafka-0-10_2.13 4.0.1, which Spark's Kafka connector needs",
  'spark/4.1.0': "Maven Central does not publish org.apache.spark:spark-token-provider-kafka-0-10_2.13 4.1.0, which Spark's Kafka connector needs",
};

/** The py4j version each pyspark release pins (pyspark's setup.py install_requires). */
export const PY4J_FOR_SPARK: Record<string, string> = { '4.0.0': '0.10.9.9', '4.0.1': '0.10.9.9', '4.1.0': '0.10.9.9', '4.1.1': '0.10.9.9', '4.2.0': '0.10.9.9' };

/** Web application directories Hadoop's HTTP servers look up on the classpath. */
export const HADOOP_WEBAPPS = ['hdfs', 'datanode', 'secondary', 'journal'];

/** Each component's Maven bundle specs: what a maven-source bundle resolves, and the directories its jars go to. */
export const MAVEN_SPECS: Record<ComponentName, (version: string) => MavenBundleSpec[]> = { kafka: kafkaMaven, hadoop: hadoopMaven, spark: sparkKafkaConnectorMaven };
