/**
 * Help that teaches: one map of examples for every command (applied after registration, so the
 * command files stay as they are), the global options shown in every subcommand's help, and the
 * environment variables in the root help.
 */
import type { Command } from 'commander';

/**
 * Command path ("topics create") → example lines. A command whose own help text already has an
 * "Examples:" section (exec, produce, submit) keeps it and needs no entry here; a unit test walks
 * the whole command tree and fails for a command whose help shows no example.
 */
export const EXAMPLES: Record<string, string[]> = {
  '': [
    'millrace demo -c examples/local.yaml   from nothing to live predictions on this machine',
    'millrace init --target local           write a commented millrace.yaml for this machine',
    'millrace validate -c millrace.yaml     check a config and list every problem',
    'millrace synth -c examples/aws.yaml    write the AWS stack as Terraform JSON',
    'millrace up --target aws               create the EC2 nodes and bootstrap them',
    'millrace status                        every service on every node, and its security state',
    'millrace list                          every cluster in the state directory, at a glance',
    'millrace verify                        prove the security posture: a pass/fail table',
    'millrace down --target aws --yes       destroy everything millrace created',
  ],
  init: [
    'millrace init                                     a local 3-node cluster in ./millrace.yaml',
    'millrace init --target aws --name analytics -c aws.yaml',
    'millrace init --target static -c static.yaml --force',
  ],
  validate: ['millrace validate', 'millrace validate -c examples/aws.yaml', 'MILLRACE_CONFIG=examples/aws.yaml millrace validate --json'],
  synth: ['millrace synth -c examples/aws.yaml', 'millrace synth -c examples/aws.yaml -o ./terraform'],
  plan: ['millrace plan --target aws', 'millrace plan --target aws -o cluster.tfplan && millrace up --target aws --plan cluster.tfplan'],
  up: ['millrace up', 'millrace up --target aws --yes', 'millrace up --target aws --infra-only --json'],
  down: ['millrace down', 'millrace down --yes -c examples/local.yaml', 'millrace down --target aws --yes --json'],
  list: ['millrace list', 'millrace list --json | jq -r \'.[] | select(.health != "healthy") | .name\''],
  status: ['millrace status', 'millrace status --json | jq \'.services[] | select(.healthy | not)\''],
  ssh: ['millrace ssh kafka-1'],
  'forget-host': ['millrace forget-host kafka-1 && millrace status'],
  logs: ['millrace logs kafka-1', 'millrace logs hdfs-1 namenode -n 200', 'millrace logs spark-1 spark-master -f'],
  alerts: ['millrace alerts                 what fires now, oldest first', 'millrace alerts --json          the same rows, for scripts'],
  describe: [
    'millrace describe',
    'millrace describe --json | jq -r \'.endpoints[] | select(.name == "Kafka bootstrap servers" and .from == "operator") | .url\'',
  ],
  verify: ['millrace verify', 'millrace verify --json > security-report.json'],
  demo: ['millrace demo -c examples/local.yaml', 'millrace demo --events 50000 --rate 5000'],
  credentials: ['millrace credentials --principal analyst', 'millrace credentials --principal analyst -o ~/kafka-creds --no-java-stores'],
  doctor: ['millrace doctor', 'millrace doctor -c examples/aws.yaml'],
  hdfs: ['millrace hdfs -- -ls /lake', 'millrace hdfs -- -du -s -h /lake/flights', 'millrace hdfs --as hdfs -- -df -h'],
  consume: [
    'millrace consume flights.events -n 10 --from-beginning',
    'millrace consume flights.dlq --to-end --raw',
    'millrace consume flights.predictions --verify --spec examples/pipelines/flights.yaml',
    'millrace consume flights.events --lag --group flights-ingest',
    'millrace consume flights.events --partition 0 --offset 42 --print-key -n 10',
  ],
  topics: ['millrace topics list', 'millrace topics create clicks --partitions 6'],
  'topics list': ['millrace topics list', 'millrace topics list --all --json'],
  'topics create': [
    'millrace topics create clicks --partitions 6',
    'millrace topics create audit --replication-factor 1 --no-dlq',
    'millrace topics create flights --topic-config retention.ms=86400000 --topic-config cleanup.policy=delete',
  ],
  'topics describe': ['millrace topics describe flights.events'],
  'topics delete': ['millrace topics delete clicks'],
  'topics alter': ['millrace topics alter clicks --topic-config retention.ms=3600000', 'millrace topics alter clicks --delete-config cleanup.policy'],
  'copy-file': [
    'millrace copy-file ./server.properties kafka:/tmp/ --mode 640 --owner kafka',
    'millrace copy-file hdfs-1:/var/log/syslog ./hdfs-1.syslog',
    'millrace cp all:/var/log/syslog ./logs            one copy per node: ./logs/<node>/syslog',
  ],
  exec: ["millrace exec all -- 'journalctl -u millrace-kafka -n 5'", 'millrace exec datanode -- df -h /var/lib/millrace', 'millrace exec kafka-1 --json -- uptime'],
  jobs: ['millrace jobs', 'millrace jobs --json | jq -r \'.[].id\''],
  'jobs kill': ['millrace jobs kill app-20260101120000-0000'],
  cache: ['millrace cache warm', 'millrace cache list'],
  'cache warm': ['millrace cache warm -c examples/local.yaml'],
  'cache list': ['millrace cache list', 'millrace cache list --json'],
  completion: [
    'millrace completion bash > /etc/bash_completion.d/millrace',
    'millrace completion zsh > "${fpath[1]}/_millrace"',
    'millrace completion fish > ~/.config/fish/completions/millrace.fish',
  ],
};

/** Every environment variable millrace reads, for the root help (and the README). */
export const ENVIRONMENT: [string, string][] = [
  ['MILLRACE_CONFIG', 'the config file when -c is not given (default ./millrace.yaml)'],
  ['MILLRACE_HOME', 'state directory: clusters/<name>/ with inventory, CA, secrets, SSH key (default ~/.millrace)'],
  ['MILLRACE_CACHE', 'downloaded bundles and the local host image (default $MILLRACE_HOME/cache)'],
  ['LOG_LEVEL', 'trace, debug, info (default), warn, error, fatal or silent; debug also shows stack traces'],
  ['MILLRACE_DEBUG', '1/true/yes/on: like --debug; unset, empty, 0, false, no or off: off'],
  ['MILLRACE_LOG_FORMAT', 'pretty or json, like --log-format (default: pretty on a terminal, JSON lines elsewhere)'],
  ['NO_COLOR', 'set: no colours in pretty logs'],
  ['MILLRACE_TERRAFORM', 'aws: the terraform or tofu binary to use (default: terraform, else tofu, on PATH)'],
  ['TF_CLI_CONFIG_FILE', 'aws: a Terraform CLI config, e.g. with a provider mirror'],
  ['AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY', 'aws: the account to deploy into'],
  ['AWS_ENDPOINT_URL', 'aws: another EC2/KMS/STS endpoint (an emulator)'],
  ['MILLRACE_DEBIAN_MIRROR', 'local: the Debian mirror the host image is built from'],
];

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command below root, depth first. */
export function allCommands(root: Command): Command[] {
  return root.commands.flatMap((c) => [c, ...allCommands(c)]);
}

export function commandPath(cmd: Command): string {
  return pathOf(cmd);
}

/** The help text a user sees for a command, with the text added after it. */
export function renderedHelp(cmd: Command): string {
  let text = '';
  const saved = { ...(cmd as unknown as { _outputConfiguration: object })._outputConfiguration };
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  try {
    cmd.outputHelp();
  } finally {
    cmd.configureOutput(saved);
  }
  return text;
}

/**
 * Shows the global options in every subcommand's help and adds each command's examples from
 * EXAMPLES, unless its own help text already has an "Examples:" section.
 */
export function applyHelp(program: Command): void {
  for (const cmd of [program, ...allCommands(program)]) {
    cmd.configureHelp({ ...cmd.configureHelp(), showGlobalOptions: true, sortSubcommands: false });
    const examples = EXAMPLES[pathOf(cmd)];
    if (!examples || /\nExamples:\n/.test(renderedHelp(cmd))) continue;
    cmd.addHelpText('after', `\nExamples:\n${examples.map((l) => `  ${l}`).join('\n')}`);
  }
  const width = Math.max(...ENVIRONMENT.map(([k]) => (k.length > 24 ? 0 : k.length)));
  const env = ENVIRONMENT.map(([k, v]) => (k.length > width ? `  ${k}\n  ${''.padEnd(width)}  ${v}` : `  ${k.padEnd(width)}  ${v}`)).join('\n');
  program.addHelpText('after', `\nEnvironment:\n${env}\n\nExit codes: 0 done, 1 failure, 2 usage or config error.`);
}
