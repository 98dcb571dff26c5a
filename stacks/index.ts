/**
 * The AWS stack, synthesized in-process to Terraform JSON (no cdktf-cli). This directory is the
 * only place that imports cdktf.
 */
import { App } from 'cdktf';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from '../lib/config';
import { clusterStateDir } from '../lib/paths';
import { ClusterStack } from './cluster-stack';

export { AMI_FAMILIES, awsSshUser } from './ami-families';
export type { AmiFamily, AmiFamilySpec } from './ami-families';
export { AWS_PROVIDER_SOURCE, AWS_PROVIDER_VERSION, ClusterStack, DATA_DEVICE_NAME, TERRAFORM_REQUIRED_VERSION } from './cluster-stack';
export type { ClusterStackProps } from './cluster-stack';
export { BASTION_OUTPUT, NODES_OUTPUT } from './node-output';
export type { NodeOutput } from './node-output';
export { planIngress, rolesPresent } from './ingress-plan';
export type { IngressRule, IngressSource } from './ingress-plan';
export { TAG_CLUSTER, TAG_MANAGED_BY, TAG_ROLE, MANAGED_BY } from './tags';

/** The stack's name inside the cdktf app; also the directory under `<outDir>/stacks/` terraform runs in. */
export const STACK_ID = 'cluster';

export interface SynthResult {
  /** The Terraform JSON. */
  file: string;
  /** The directory terraform/tofu runs in. */
  stackDir: string;
  stack: string;
}

/** Writes `<outDir>/stacks/cluster/cdk.tf.json`. Re-synthesizing keeps the stack dir's .terraform cache. */
export function synthClusterStack(config: ClusterConfig, outDir: string, publicKey: string, stateDir = clusterStateDir(config.name)): SynthResult {
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const app = new App({ outdir: outDir, stackTraces: false });
  new ClusterStack(app, STACK_ID, { config, publicKey, stateDir });
  app.synth();
  const stackDir = path.join(outDir, 'stacks', STACK_ID);
  return { file: path.join(stackDir, 'cdk.tf.json'), stackDir, stack: STACK_ID };
}
