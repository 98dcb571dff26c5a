/**
 * Kafka broker + KRaft controller, combined on each kafka node. Every listener is TLS:
 * CLIENT (clients and inter-broker) and CONTROLLER (the quorum). No PLAINTEXT anywhere.
 */
import type { Logger } from 'pino';
import type { InventoryNode } from '../../lib/inventory';
import { ROLE_PORTS, portNumber } from '../../lib/roles';
import { cmd, q } from '../../lib/shell';
import { render, sortedProperties } from '../../templates/render';
import type { RemoteHost } from '../remote-host';
import type { ClusterFacts, FileSpec, HealthReport, NodeContext, Service, StepOutcome } from '../service';
import { lastLine, launcherFiles, report, unitAndPortChecks } from './java-service';

const CONF = '/etc/millrace/kafka';
const DATA = '/var/lib/millrace/kafka/data';
const UNIT = 'millrace-kafka.service';
export const KAFKA_TLS = {
  keystore: `${CONF}/tls/keystore.pem`,
  truststore: `${CONF}/tls/truststore.pem`,
};
export const KAFKA_CLIENT_PORT = portNumber('kafka', 'kafka-client');
export const KAFKA_CONTROLLER_PORT = portNumber('kafka', 'kafka-controller');

export function kafkaNodeId(facts: ClusterFacts, node: InventoryNode): number {
  return facts.kafkaNodes.findIndex((n) => n.name === node.name) + 1;
}

export function bootstrapServers(facts: ClusterFacts): string {
  return facts.kafkaNodes.map((n) => `${n.privateAddress}:${KAFKA_CLIENT_PORT}`).join(',');
}

/** The broker's properties before user overrides; pure, unit-tested. */
export function buildServerProperties(facts: ClusterFacts, node: InventoryNode): Record<string, string | number | boolean> {
  const brokers = facts.kafkaNodes.length;
  const rf = Math.min(3, brokers);
  return {
    'process.roles': 'broker,controller',
    'node.id': kafkaNodeId(facts, node),
    'controller.quorum.voters': facts.kafkaNodes
      .map((n) => `${kafkaNodeId(facts, n)}@${n.privateAddress}:${KAFKA_CONTROLLER_PORT}`)
      .join(','),
    listeners: `CLIENT://${node.privateAddress}:${KAFKA_CLIENT_PORT},CONTROLLER://${node.privateAddress}:${KAFKA_CONTROLLER_PORT}`,
    'advertised.listeners': `CLIENT://${node.privateAddress}:${KAFKA_CLIENT_PORT}`,
    'listener.security.protocol.map': 'CLIENT:SSL,CONTROLLER:SSL',
    'inter.broker.listener.name': 'CLIENT',
    'controller.listener.names': 'CONTROLLER',
    'log.dirs': DATA,
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': KAFKA_TLS.keystore,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': KAFKA_TLS.truststore,
    'ssl.endpoint.identification.algorithm': 'https',
    'ssl.enabled.protocols': 'TLSv1.3,TLSv1.2',
    'num.partitions': 3,
    'default.replication.factor': rf,
    'min.insync.replicas': rf > 1 ? rf - 1 : 1,
    'offsets.topic.replication.factor': rf,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': rf > 1 ? rf - 1 : 1,
    'auto.create.topics.enable': false,
    'group.initial.rebalance.delay.ms': 0,
  };
}

function clientProperties(): Record<string, string> {
  return {
    'security.protocol': 'SSL',
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': KAFKA_TLS.truststore,
  };
}

const classpath = (facts: ClusterFacts): string => `${facts.home.kafka}/libs/*`;

export const kafkaService: Service = {
  id: 'kafka',
  role: 'kafka',
  unit: UNIT,
  user: 'kafka',
  component: 'kafka',
  ports: ROLE_PORTS.kafka,

  directories: () => [
    { path: CONF, mode: '755', owner: 'root:root' },
    { path: `${CONF}/tls`, mode: '750', owner: 'root:kafka' },
    { path: '/var/lib/millrace/kafka', mode: '750', owner: 'kafka:kafka' },
    { path: DATA, mode: '700', owner: 'kafka:kafka' },
  ],

  files: ({ cluster, node }: NodeContext): FileSpec[] => {
    const tls = cluster.tls[node.name];
    if (!tls) throw new Error(`no TLS material planned for ${node.name}`);
    return [
      {
        path: `${CONF}/server.properties`,
        content: render('kafka/server.properties', {
          nodeName: node.name,
          properties: sortedProperties(buildServerProperties(cluster, node), cluster.config.kafka.overrides),
        }),
        mode: 0o640,
        owner: 'kafka',
        restarts: [UNIT],
      },
      { path: `${CONF}/client.properties`, content: render('kafka/client.properties', { properties: sortedProperties(clientProperties()) }), mode: 0o644, owner: 'root', restarts: [] },
      { path: `${CONF}/log4j2.properties`, content: render('kafka/log4j2.properties', { level: 'INFO' }), mode: 0o644, owner: 'root', restarts: [UNIT] },
      { path: KAFKA_TLS.keystore, content: tls.keyPem + tls.certPem, mode: 0o600, owner: 'kafka', restarts: [UNIT], secret: true },
      { path: KAFKA_TLS.truststore, content: tls.caPem, mode: 0o644, owner: 'kafka', restarts: [UNIT] },
      ...launcherFiles({
        name: 'millrace-kafka',
        description: `Kafka broker and KRaft controller (${node.name})`,
        user: 'kafka',
        mainClass: 'kafka.Kafka',
        classpath: [classpath(cluster)],
        jvmOpts: [
          `-Xms${cluster.memory.kafkaHeap}`,
          `-Xmx${cluster.memory.kafkaHeap}`,
          '-XX:+UseG1GC',
          '-Djava.awt.headless=true',
          `-Dlog4j2.configurationFile=${CONF}/log4j2.properties`,
          '-Dkafka.logs.dir=/var/log/millrace/kafka',
        ],
        args: [`${CONF}/server.properties`],
      }),
    ];
  },

  async initialize(host: RemoteHost, { cluster }: NodeContext, log: Logger): Promise<StepOutcome> {
    const formatted = await host.exec(`test -f ${q(`${DATA}/meta.properties`)}`);
    if (formatted.code === 0) return { changed: false };
    log.info('formatting KRaft storage');
    await host.execOrThrow(
      `runuser -u kafka -- ${cmd('java', '-cp', classpath(cluster), 'kafka.tools.StorageTool', 'format', '--ignore-formatted', '-t', cluster.kafkaClusterId, '-c', `${CONF}/server.properties`)}`,
      { what: 'format KRaft storage' },
    );
    return { changed: true, detail: 'formatted KRaft storage' };
  },

  async healthCheck(host: RemoteHost, { cluster, node }: NodeContext): Promise<HealthReport> {
    const address = node.privateAddress;
    const checks = await unitAndPortChecks(host, UNIT, address, KAFKA_CLIENT_PORT);
    if (checks.every((c) => c.ok)) {
      const quorum = await host.exec(
        cmd('java', '-cp', classpath(cluster), 'org.apache.kafka.tools.MetadataQuorumCommand', '--bootstrap-server', `${address}:${KAFKA_CLIENT_PORT}`, '--command-config', `${CONF}/client.properties`, 'describe', '--status'),
      );
      const leader = /LeaderId:\s+(-?\d+)/.exec(quorum.stdout)?.[1];
      const voters = /CurrentVoters:\s+(.*)/.exec(quorum.stdout)?.[1]?.trim();
      const ok = quorum.code === 0 && leader !== undefined && leader !== '-1';
      checks.push({ name: 'KRaft quorum (TLS)', ok, detail: ok ? `leader ${leader}, voters ${voters}` : lastLine(quorum.stderr || quorum.stdout) });
    }
    return report(checks);
  },
};
