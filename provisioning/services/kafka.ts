/**
 * Kafka broker + KRaft controller, combined on each kafka node. Every listener is TLS:
 * CLIENT (clients and inter-broker) and CONTROLLER (the quorum), plus EXTERNAL on a node with a
 * public address, for clients outside the cluster network. No PLAINTEXT anywhere.
 */
import type { Logger } from 'pino';
import type { InventoryNode } from '../../lib/inventory';
import { hasPublicAddress, ROLE_PORTS, portNumber } from '../../lib/roles';
import { MillraceError } from '../../lib/errors';
import { cmd, q } from '../../lib/shell';
import { render, sortedProperties } from '../../templates/render';
import { type RemoteHost, runAs } from '../remote-host';
import type { ClusterFacts, FileSpec, HealthReport, NodeContext, Service, StepOutcome } from '../service';
import { JAVA_TOOL, lastLine, launcherFiles, report, unitAndPortChecks } from './java-service';
import { jmxExporter } from './metrics';
import { OPT } from '../artifacts/remote-install';
import { CA_PEM, serviceKeyFiles, serviceTlsPaths, tlsDirectories, trustFiles } from './tls-files';
import { kafkaPrincipalMappingRules, superUsers } from '../../lib/principals';

const CONF = '/etc/millrace/kafka';
const DATA = '/var/lib/millrace/kafka/data';
const UNIT = 'millrace-kafka.service';
export const KAFKA_CLIENT_PORT = portNumber('kafka', 'kafka-client');
export const KAFKA_CONTROLLER_PORT = portNumber('kafka', 'kafka-controller');
export const KAFKA_EXTERNAL_PORT = portNumber('kafka', 'kafka-external');

/** The node's KRaft node.id: assigned once and kept (kafka-identities.ts), whatever the list order. */
export function kafkaNodeId(facts: ClusterFacts, node: Pick<InventoryNode, 'name'>): number {
  const id = facts.kafkaIdentities.nodeIds[node.name];
  if (id === undefined) throw new Error(`${node.name} has no Kafka node id in the cluster state`);
  return id;
}

/** Whether the node is a voter of the controller quorum (broker and controller), or a broker only. */
export function isController(facts: ClusterFacts, node: Pick<InventoryNode, 'name'>): boolean {
  return facts.kafkaIdentities.controllers.includes(node.name);
}

/** controller.quorum.voters: id@address:port of each voter, in id order. */
export function quorumVoters(facts: ClusterFacts): string {
  return facts.kafkaIdentities.controllers
    .map((name) => {
      const n = facts.kafkaNodes.find((k) => k.name === name);
      if (!n) throw new Error(`the controller ${name} is not a kafka node of the inventory`);
      return `${kafkaNodeId(facts, n)}@${n.privateAddress}:${KAFKA_CONTROLLER_PORT}`;
    })
    .join(',');
}

export function bootstrapServers(facts: ClusterFacts): string {
  return facts.kafkaNodes.map((n) => `${n.privateAddress}:${KAFKA_CLIENT_PORT}`).join(',');
}

/**
 * The broker's listeners. EXTERNAL binds to the private address too: a public address is NAT'd
 * to it (an EC2 public IP, a port forward), so only the advertised address differs. Clients
 * outside get metadata with the public addresses, clients inside with the private ones.
 */
function listenerProperties(node: InventoryNode, controller: boolean): Record<string, string> {
  const bind = (name: string, port: number): string => `${name}://${node.privateAddress}:${port}`;
  const external = hasPublicAddress(node);
  return {
    // A broker-only node listens on no CONTROLLER port, but still maps that listener's protocol: it connects to the voters over it.
    listeners: [bind('CLIENT', KAFKA_CLIENT_PORT), ...(controller ? [bind('CONTROLLER', KAFKA_CONTROLLER_PORT)] : []), ...(external ? [bind('EXTERNAL', KAFKA_EXTERNAL_PORT)] : [])].join(','),
    'advertised.listeners': [bind('CLIENT', KAFKA_CLIENT_PORT), ...(external ? [`EXTERNAL://${node.publicAddress}:${KAFKA_EXTERNAL_PORT}`] : [])].join(','),
    'listener.security.protocol.map': ['CLIENT:SSL', 'CONTROLLER:SSL', ...(external ? ['EXTERNAL:SSL'] : [])].join(','),
  };
}

/** The broker's properties before user overrides; pure, unit-tested. */
export function buildServerProperties(facts: ClusterFacts, node: InventoryNode): Record<string, string | number | boolean> {
  const brokers = facts.kafkaNodes.length;
  const rf = Math.min(3, brokers);
  const controller = isController(facts, node);
  return {
    'process.roles': controller ? 'broker,controller' : 'broker',
    'node.id': kafkaNodeId(facts, node),
    'controller.quorum.voters': quorumVoters(facts),
    ...listenerProperties(node, controller),
    'inter.broker.listener.name': 'CLIENT',
    'controller.listener.names': 'CONTROLLER',
    'log.dirs': DATA,
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': serviceTlsPaths({ cluster: facts, node }, 'kafka').pem,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': CA_PEM,
    'ssl.endpoint.identification.algorithm': 'https',
    'ssl.enabled.protocols': 'TLSv1.3,TLSv1.2',
    // Every listener, the KRaft controller's included, wants a client certificate from the CA.
    'ssl.client.auth': 'required',
    'listener.name.controller.ssl.client.auth': 'required',
    // A client certificate's CN is its principal (CN=pipeline,OU=client,O=millrace is User:pipeline);
    // a broker's is CN=kafka-1,OU=kafka-broker,O=millrace, User:kafka-broker@kafka-1, a name no client can have.
    'ssl.principal.mapping.rules': kafkaPrincipalMappingRules(),
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': false,
    // Exactly the brokers' identities (they are also the controllers) and the operator's admin.
    'super.users': superUsers(facts.kafkaNodes.map((n) => n.name)).join(';'),
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

/** Kafka's own admin tools on the node authenticate as the broker, a super user. */
function clientProperties(ctx: NodeContext): Record<string, string> {
  return {
    'security.protocol': 'SSL',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': serviceTlsPaths(ctx, 'kafka').pem,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': CA_PEM,
  };
}

const classpath = (facts: ClusterFacts): string => `${facts.home.kafka}/libs/*`;

/** Kafka's admin tools on a kafka node, run as the broker identity (a super user). */
export const KAFKA_ADMIN_TOOLS = { classpath: `${OPT}/kafka/current/libs/*`, clientConfig: `${CONF}/client.properties` };

export const kafkaService: Service = {
  id: 'kafka',
  role: 'kafka',
  unit: UNIT,
  user: 'kafka',
  component: 'kafka',
  ports: ROLE_PORTS.kafka,

  directories: () => [
    { path: CONF, mode: '755', owner: 'root:root' },
    ...tlsDirectories(['kafka']),
    { path: '/var/lib/millrace/kafka', mode: '750', owner: 'kafka:kafka' },
    { path: DATA, mode: '700', owner: 'kafka:kafka' },
  ],

  files: (ctx: NodeContext): FileSpec[] => {
    const { cluster, node } = ctx;
    const metrics = jmxExporter(ctx, { id: 'kafka', user: 'kafka', port: portNumber('kafka', 'kafka-metrics'), home: cluster.home.kafka, restarts: [UNIT] });
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
      { path: `${CONF}/client.properties`, content: render('kafka/client.properties', { properties: sortedProperties(clientProperties(ctx)) }), mode: 0o644, owner: 'root', restarts: [] },
      { path: `${CONF}/log4j2.properties`, content: render('kafka/log4j2.properties', { level: 'INFO' }), mode: 0o644, owner: 'root', restarts: [UNIT] },
      // The PEM for Kafka's listeners; the PKCS#12 keystore for its metrics endpoint (the JMX exporter).
      ...serviceKeyFiles(ctx, 'kafka', [UNIT], { pkcs12: true }).files,
      ...trustFiles(ctx, [UNIT]).files,
      ...metrics.files,
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
          ...metrics.jvmOpts,
        ],
        args: [`${CONF}/server.properties`],
      }),
    ];
  },

  keyStores: (ctx: NodeContext) => [...serviceKeyFiles(ctx, 'kafka', [UNIT], { pkcs12: true }).keyStores, ...trustFiles(ctx, []).keyStores],

  async securityChecks(host: RemoteHost, ctx: NodeContext): Promise<HealthReport['checks']> {
    const props = parseProperties(await host.execOrThrow(`cat ${q(`${CONF}/server.properties`)}`));
    const map = (props.get('listener.security.protocol.map') ?? '').split(',').filter(Boolean);
    const insecure = map.filter((m) => !/:SSL$/.test(m));
    return [
      { name: 'listener protocols', ok: map.length > 0 && insecure.length === 0, detail: insecure.length ? `not TLS: ${insecure.join(', ')}` : map.join(', ') },
      { name: 'client authentication', ok: props.get('ssl.client.auth') === 'required', detail: `ssl.client.auth=${props.get('ssl.client.auth') ?? 'none'}` },
      { name: 'authorizer', ok: /StandardAuthorizer$/.test(props.get('authorizer.class.name') ?? ''), detail: props.get('authorizer.class.name') ?? 'none' },
      superUsersCheck(props, ctx.cluster),
    ];
  },

  async initialize(host: RemoteHost, { cluster, node }: NodeContext, log: Logger): Promise<StepOutcome> {
    const meta = await host.exec(`cat ${q(`${DATA}/meta.properties`)}`);
    if (meta.code === 0) {
      checkFormattedIdentity(parseProperties(meta.stdout), cluster, node);
      return { changed: false };
    }
    log.info('formatting KRaft storage');
    await host.execOrThrow(
      runAs('kafka', cmd(...JAVA_TOOL, '-cp', classpath(cluster), 'kafka.tools.StorageTool', 'format', '--ignore-formatted', `--cluster-id=${cluster.kafkaClusterId}`, '-c', `${CONF}/server.properties`)),
      { what: 'format KRaft storage' },
    );
    return { changed: true, detail: 'formatted KRaft storage' };
  },

  async settled(host: RemoteHost, { cluster, node }: NodeContext): Promise<{ ok: boolean; detail: string }> {
    const r = await host.exec(
      cmd(...JAVA_TOOL, '-cp', classpath(cluster), 'org.apache.kafka.tools.TopicCommand', '--bootstrap-server', `${node.privateAddress}:${KAFKA_CLIENT_PORT}`, '--command-config', `${CONF}/client.properties`, '--describe', '--under-replicated-partitions'),
    );
    if (r.code !== 0) return { ok: false, detail: `kafka-topics failed: ${lastLine(r.stderr || r.stdout)}` };
    const under = r.stdout.split('\n').filter((l) => /\bPartition:/.test(l)).length;
    return { ok: under === 0, detail: under === 0 ? 'no under-replicated partitions' : `${under} under-replicated partition(s)` };
  },

  async healthCheck(host: RemoteHost, { cluster, node }: NodeContext): Promise<HealthReport> {
    const address = node.privateAddress;
    const checks = await unitAndPortChecks(host, UNIT, address, KAFKA_CLIENT_PORT);
    if (checks.every((c) => c.ok)) {
      const quorum = await host.exec(
        cmd(...JAVA_TOOL, '-cp', classpath(cluster), 'org.apache.kafka.tools.MetadataQuorumCommand', '--bootstrap-server', `${address}:${KAFKA_CLIENT_PORT}`, '--command-config', `${CONF}/client.properties`, 'describe', '--status'),
      );
      const leader = /LeaderId:\s+(-?\d+)/.exec(quorum.stdout)?.[1];
      const voters = /CurrentVoters:\s+(.*)/.exec(quorum.stdout)?.[1]?.trim();
      const ok = quorum.code === 0 && leader !== undefined && leader !== '-1';
      checks.push({ name: 'KRaft quorum (TLS)', ok, detail: ok ? `leader ${leader}, voters ${voters}` : lastLine(quorum.stderr || quorum.stdout) });
    }
    return report(checks);
  },
};

/**
 * A formatted node keeps its identity in meta.properties: a node.id or cluster.id other than the
 * cluster state's means the state and the disk disagree (a restored backup of another cluster,
 * a renamed node), and starting the broker would give the cluster two nodes with one id.
 */
export function checkFormattedIdentity(meta: Map<string, string>, cluster: ClusterFacts, node: Pick<InventoryNode, 'name'>): void {
  const want = { 'node.id': String(kafkaNodeId(cluster, node)), 'cluster.id': cluster.kafkaClusterId };
  const wrong = (Object.keys(want) as (keyof typeof want)[]).filter((k) => meta.get(k) !== want[k]);
  if (!wrong.length) return;
  throw new MillraceError(
    `${node.name}'s Kafka storage (${DATA}/meta.properties) was formatted as ${wrong.map((k) => `${k} ${meta.get(k) ?? '(none)'}`).join(', ')}, but the cluster state gives it ${wrong.map((k) => `${k} ${want[k]}`).join(', ')}; the broker was not started`,
    {
      hint: `restore the cluster state directory (kafka-identities.json, kafka-cluster-id) that belongs to this node's data; or, to discard ${node.name}'s Kafka data, destroy the node and run \`millrace up\` again`,
    },
  );
}

/**
 * super.users on a broker is exactly the brokers' identities and the operator's admin, and the
 * principal mapping is millrace's (so no other certificate maps to one of those names).
 */
export function superUsersCheck(props: Map<string, string>, facts: ClusterFacts): HealthReport['checks'][number] {
  const want = superUsers(facts.kafkaNodes.map((n) => n.name));
  const have = (props.get('super.users') ?? '').split(';').map((u) => u.trim()).filter(Boolean);
  const extra = have.filter((u) => !want.includes(u));
  const missing = want.filter((u) => !have.includes(u));
  const rules = props.get('ssl.principal.mapping.rules');
  const rulesOk = rules === kafkaPrincipalMappingRules();
  const problems = [...(extra.length ? [`unexpected ${extra.join(', ')}`] : []), ...(missing.length ? [`missing ${missing.join(', ')}`] : []), ...(rulesOk ? [] : [`ssl.principal.mapping.rules is ${rules ?? 'unset'}`])];
  return { name: 'super users', ok: problems.length === 0, detail: problems.length ? problems.join('; ') : have.join(', ') };
}

/** key=value lines of a Java properties file, as rendered by millrace (no continuations). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([^#!\s][^=]*?)\s*=\s*(.*)$/.exec(line);
    if (m?.[1]) out.set(m[1], m[2] ?? '');
  }
  return out;
}
