#!/usr/bin/env node
/**
 * Optional check, not part of the test command: runs `terraform validate` (or `tofu validate`) on
 * the stack synthesized from examples/aws.yaml. It needs the built dist/, a terraform or tofu
 * binary, and the AWS provider, which no registry reachable here serves, so it usually comes
 * from a provider mirror (TF_CLI_CONFIG_FILE, or --mirror <dir> to write such a config).
 * Whatever is missing is named, and the exit code is non-zero.
 *
 *   npm run validate:terraform [-- [-c config.yaml] [--mirror DIR] [--keep]]
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const AWS_PROVIDER = 'registry.terraform.io/hashicorp/aws';

function fail(message, hint) {
  process.stderr.write(`validate-terraform: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { config: path.join(root, 'examples', 'aws.yaml'), mirror: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-c' || a === '--config') opts.config = path.resolve(argv[++i] ?? fail(`${a} needs a file`));
    else if (a === '--mirror') opts.mirror = path.resolve(argv[++i] ?? fail('--mirror needs a directory'));
    else if (a === '--keep') opts.keep = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node scripts/validate-terraform.js [-c config.yaml] [--mirror DIR] [--keep]\n');
      process.exit(0);
    } else fail(`unknown argument ${a}`, 'see --help');
  }
  return opts;
}

function load(rel) {
  const file = path.join(root, 'dist', rel);
  if (!fs.existsSync(file)) fail(`${path.relative(root, file)} is missing`, 'run `npm run build` first');
  return require(file);
}

/** A CLI config that installs hashicorp providers only from the given mirror directory. */
function mirrorConfig(dir, tmp) {
  if (!fs.existsSync(path.join(dir, AWS_PROVIDER))) fail(`${dir} holds no ${AWS_PROVIDER} provider`, `expected ${path.join(dir, AWS_PROVIDER, '<version>', '<os_arch>')}`);
  const file = path.join(tmp, 'terraform.rc');
  fs.writeFileSync(
    file,
    `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(dir)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n` +
      `  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
  );
  return file;
}

function runTool(bin, args, cwd, env) {
  const r = spawnSync(bin.path, args, { cwd, env, encoding: 'utf8' });
  if (r.error) fail(`cannot run ${bin.path}: ${r.error.message}`);
  return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}`.trim() };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { loadConfig } = load('lib/config.js');
  const { synthClusterStack } = load('stacks/index.js');
  const { findTerraform } = load('targets/aws/terraform.js');
  const { readPublicKey } = load('targets/ssh-key.js');

  let bin;
  try {
    bin = findTerraform();
  } catch (error) {
    fail(error.message, error.hint);
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-validate-'));
  const env = { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  if (opts.mirror) env.TF_CLI_CONFIG_FILE = mirrorConfig(opts.mirror, tmp);
  // State paths in the stack point into MILLRACE_HOME; keep them in the scratch directory.
  process.env.MILLRACE_HOME = path.join(tmp, 'home');
  try {
    const config = loadConfig(opts.config);
    const publicKey = config.ssh.publicKey ? readPublicKey(config.ssh.publicKey) : 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIValidateValidateValidateValidateValidate validate@millrace';
    const { stackDir, file } = synthClusterStack(config, path.join(tmp, 'synth'), publicKey);
    process.stdout.write(`synthesized ${path.relative(root, opts.config)} to ${file}\nusing ${bin.path}\n`);

    // -backend=false: validation needs the provider's schema, not the state.
    const init = runTool(bin, ['init', '-backend=false', '-input=false', '-no-color'], stackDir, env);
    if (init.status !== 0) {
      const cfg = env.TF_CLI_CONFIG_FILE;
      const cfgNote = !cfg
        ? 'TF_CLI_CONFIG_FILE is not set'
        : fs.existsSync(cfg)
          ? `TF_CLI_CONFIG_FILE is ${cfg}`
          : `TF_CLI_CONFIG_FILE names ${cfg}, which does not exist`;
      fail(
        `${bin.name} init could not install the AWS provider (${AWS_PROVIDER}); ${cfgNote}\n${init.output.split('\n').slice(-15).map((l) => `    ${l}`).join('\n')}`,
        'point TF_CLI_CONFIG_FILE at a CLI config whose provider_installation has a filesystem_mirror holding the provider, or pass --mirror <dir>',
      );
    }
    const validate = runTool(bin, ['validate', '-no-color'], stackDir, env);
    process.stdout.write(`${validate.output}\n`);
    if (validate.status !== 0) fail(`${bin.name} validate found problems in ${file}`);
    process.stdout.write(`${bin.name} validate: the synthesized stack is valid\n`);
  } catch (error) {
    fail(error.message ?? String(error), error.hint);
  } finally {
    if (opts.keep) process.stdout.write(`kept ${tmp}\n`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
