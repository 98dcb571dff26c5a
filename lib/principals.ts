/**
 * The Kafka principals millrace issues certificates for, and what a principal name may be.
 *
 * Every certificate the cluster CA issues says in its OU what it is for, and the brokers'
 * ssl.principal.mapping.rules turn that into the principal (see kafkaPrincipalMappingRules):
 * - a client certificate, CN=<name>,OU=client,O=millrace, is User:<name>;
 * - a service certificate, CN=<node>,OU=<service>,O=millrace, is User:<service>@<node>:
 *   User:kafka-broker@kafka-1 for a broker (a super user), User:spark@spark-1 for Spark's UIs,
 *   User:node@hdfs-1 for the node's other services (no ACLs name those two).
 * A client name has no "@", and the CA never puts a service OU in a client certificate, so no
 * client certificate can carry a broker's identity.
 *
 * A client name is what the mapping rule captures from a CN: letters, digits, ".", "_" and "-",
 * at most 64 characters (the longest CN X.509 allows). Names of dots alone are refused: the name
 * is also a directory and file stem on the operator's machine.
 */
import { UsageError } from './errors';

/** The operator's tools (`topics`, `verify`): a super user on the brokers. */
export const ADMIN_PRINCIPAL = 'admin';
/** Producers, consumers and Spark jobs: only the ACLs `topics create` grants it. */
export const PIPELINE_PRINCIPAL = 'pipeline';

export const PRINCIPAL_NAME = /^(?!\.+$)[A-Za-z0-9._-]{1,64}$/;

/** The OU of a client certificate. */
export const CLIENT_OU = 'client';
/** The OUs of service certificates: each maps to User:<ou>@<node>. */
export const SERVICE_OUS = ['kafka-broker', 'spark', 'node'] as const;
export type ServiceOu = (typeof SERVICE_OUS)[number];
export const BROKER_OU: ServiceOu = 'kafka-broker';

/** The principal a service certificate of a node maps to, e.g. kafka-broker@kafka-1. */
export const servicePrincipal = (ou: ServiceOu, node: string): string => `${ou}@${node}`;
/** A broker's (and KRaft controller's) principal name: a super user. */
export const brokerPrincipal = (node: string): string => servicePrincipal(BROKER_OU, node);

/**
 * Rules that turn a certificate's subject (as Java prints it, RFC 2253: CN first) into a
 * principal name; the first that matches the whole DN wins. Anything else (no certificate of
 * this CA looks like it) keeps its whole DN, which no ACL names.
 */
export function kafkaPrincipalMappingRules(): string {
  const cn = '([A-Za-z0-9._-]+)';
  return [
    `RULE:^CN=${cn},OU=${CLIENT_OU},O=millrace$/$1/`,
    `RULE:^CN=${cn},OU=(${SERVICE_OUS.join('|')}),O=millrace$/$2@$1/`,
    'DEFAULT',
  ].join(',');
}

/** The brokers' super users: every broker identity and the operator's admin, nothing else. */
export function superUsers(kafkaNodeNames: string[]): string[] {
  return [...kafkaNodeNames.map((n) => `User:${brokerPrincipal(n)}`), `User:${ADMIN_PRINCIPAL}`];
}

/** Names no node may take: millrace's own principals (a node named "admin" reads as the operator). */
export const RESERVED_NODE_NAMES: readonly string[] = [ADMIN_PRINCIPAL, PIPELINE_PRINCIPAL];

/** Why a node name is reserved, or undefined. */
export function reservedNodeName(name: string): string | undefined {
  return RESERVED_NODE_NAMES.includes(name) ? `"${name}" is reserved: it is the name of millrace's ${name === ADMIN_PRINCIPAL ? 'super-user (operator)' : 'pipeline'} Kafka principal` : undefined;
}

/** Returns the name, or throws a UsageError saying what a principal name may be. */
export function checkPrincipal(name: string): string {
  if (name.includes('*'))
    throw new UsageError(`"${name}" is a wildcard, not a principal: an ACL for it would grant every client`, { hint: 'name one principal, e.g. --principal reporting' });
  if (!PRINCIPAL_NAME.test(name)) throw new UsageError(`"${name}" is not a usable principal name`, { hint: 'use letters, digits, ".", "_" or "-" (at most 64)' });
  return name;
}

export interface ClientPrincipalRules {
  /** The cluster's node names: no client certificate is named after a node. */
  nodeNames: string[];
  /** Allow the operator's super-user principal (`credentials --superuser`). */
  superuser?: boolean;
  /** The option that took the name, for the error. */
  option?: string;
}

/**
 * A principal an operator names for a client (`credentials`, `topics create`): a usable name,
 * no wildcard, not a node's name, and a super user only when asked for explicitly.
 */
export function checkClientPrincipal(name: string, rules: ClientPrincipalRules): string {
  const option = rules.option ?? '--principal';
  checkPrincipal(name);
  if (rules.nodeNames.includes(name))
    throw new UsageError(`${option} ${name}: "${name}" is the name of a node of this cluster, and node names are reserved`, {
      hint: `pick a name that is no node's, e.g. ${name}-client; a broker's own identity (User:${brokerPrincipal(name)}) is never issued to a client`,
    });
  if (isSuperUser(name) && !rules.superuser)
    throw new UsageError(`${option} ${name}: User:${name} is a Kafka super user (every topic, group and ACL)`, {
      hint: `add --superuser if you really mean to issue a super-user certificate; otherwise pick another name and grant it topics with \`millrace topics create <topic> --principal <name>\``,
    });
  return name;
}

/** True for the client principals the brokers make super users. */
export const isSuperUser = (name: string): boolean => name === ADMIN_PRINCIPAL;

/**
 * The consumer groups a principal may use: those whose id starts with "<principal>-". A bare
 * prefix "<principal>" would let "pipe" use the groups of "pipeline".
 */
export const groupPrefix = (principal: string): string => `${checkPrincipal(principal)}-`;
