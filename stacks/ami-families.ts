/**
 * The base images millrace knows how to provision. Kept free of cdktf so that targets/aws can
 * read the login user without loading the (heavy) stack libraries.
 */
import type { ClusterConfig } from '../lib/config';

export type AmiFamily = ClusterConfig['aws']['amiFamily'];

export interface AmiFamilySpec {
  /** AWS account that publishes the image: only images from this owner are trusted. */
  owner: string;
  /** Name filter for the `aws_ami` data source; the newest match wins. */
  namePattern: string;
  /** The login user the image's cloud-init gives the key pair to. */
  sshUser: string;
}

export const AMI_FAMILIES: Record<AmiFamily, AmiFamilySpec> = {
  'ubuntu-24.04': {
    owner: '099720109477', // Canonical
    namePattern: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*',
    sshUser: 'ubuntu',
  },
  'debian-12': {
    owner: '136693071363', // Debian
    namePattern: 'debian-12-amd64-*',
    sshUser: 'admin',
  },
};

/** The SSH user for the cluster's EC2 nodes: the configured one, else the image's default. */
export function awsSshUser(config: ClusterConfig): string {
  return config.ssh.user ?? AMI_FAMILIES[config.aws.amiFamily].sshUser;
}
