/** Builds AWS configs and synthesizes the cluster stack for the stack tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdktf';
// Brings in the type declarations of cdktf's jest matchers (toHaveResourceWithProperties, ...),
// which cdktf's main entry point does not reference.
import type {} from 'cdktf/lib/testing/adapters/jest';
import { ClusterConfig, parseConfigText } from '../../../lib/config';
import { ClusterStack } from '../../../stacks';

export const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStackTestStackTestStackTestStackTestStack test@example';
export const STATE_DIR = '/var/lib/millrace-test/clusters/demo';

/** An aws-target config; `extra` is YAML appended to a valid base (it may override nodes). */
export function awsConfig(extra = '', base = 'name: demo\ntarget: aws\nnetwork:\n  sshCidr: 198.51.100.7/32\n  kafkaClientCidrs: [203.0.113.0/24, 192.0.2.0/28]\n'): ClusterConfig {
  return parseConfigText(base + extra, 'test.yaml');
}

// Loose on purpose: the tests walk Terraform JSON, whose shape is Terraform's, not ours.
export type Json = any;

export interface Synthesized {
  /** As cdktf's jest matchers want it. */
  text: string;
  doc: Json;
}

export function synth(config: ClusterConfig, publicKey = PUBLIC_KEY): Synthesized {
  // Testing.app() alone makes a temporary directory per call and leaves it behind in /tmp.
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'millrace-stack-test-'));
  try {
    const stack = new ClusterStack(Testing.app({ outdir }), 'cluster', { config, publicKey, stateDir: STATE_DIR });
    const text = Testing.synth(stack);
    return { text, doc: JSON.parse(text) };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** The resources of one type, keyed by Terraform name (empty if there are none). */
export function resources(doc: Json, type: string): Record<string, Json> {
  return (doc.resource?.[type] ?? {}) as Record<string, Json>;
}

export const ref = (type: string, name: string, attr = 'id'): string => `\${${type}.${name}.${attr}}`;
export const sgRef = (role: string): string => ref('aws_security_group', `sg-${role}`);
