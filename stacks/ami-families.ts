/**
 * The base images millrace knows how to provision. Kept free of cdktf so that targets/aws can
 * read the login user without loading the (heavy) stack libraries.
 */
import { bootedNodeUser, type ClusterConfig } from '../lib/config';

export type AmiFamily = ClusterConfig['aws']['amiFamily'];

export interface AmiFamilySpec {
  /** AWS account that publishes the image: only images from this owner are trusted. */
  owner: string;
  /** Name filter for the `aws_ami` data source; the newest match wins. */
  namePattern: string;
}

/** debian-12 is the default and the tested family: the local target's nodes are Debian 12 too. */
export const AMI_FAMILIES: Record<AmiFamily, AmiFamilySpec> = {
  'debian-12': {
    owner: '136693071363', // Debian
    namePattern: 'debian-12-amd64-*',
  },
  'ubuntu-24.04': {
    owner: '099720109477', // Canonical
    namePattern: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*',
  },
};

/**
 * The SSH user for the cluster's EC2 nodes: the one the stack's user-data creates (the same on
 * every image family), not the image's own default user.
 */
export function awsSshUser(config: ClusterConfig): string {
  return bootedNodeUser(config);
}
