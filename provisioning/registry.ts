/** The one explicit map from a role to the service that runs it. */
import type { Role } from '../lib/roles';
import type { Service } from './service';
import { kdcService } from './kerberos/kdc';
import { kafkaService } from './services/kafka';
import { datanodeService, namenodeService } from './services/hdfs';
import { kmsService } from './services/kms';
import { alertmanagerService } from './services/alerts';
import { nodeExporterService, prometheusService } from './services/metrics';
import { sparkMasterService, sparkWorkerService } from './services/spark';

/** Each role's services, in start order; most roles have one. */
export const SERVICES: Record<Role, Service | readonly Service[]> = {
  kafka: kafkaService,
  namenode: namenodeService,
  datanode: datanodeService,
  kms: kmsService,
  'spark-master': sparkMasterService,
  'spark-worker': sparkWorkerService,
  kdc: kdcService,
  // Alertmanager first: Prometheus sends it the alerts its rules raise.
  monitor: [alertmanagerService, prometheusService],
};

/** Start order on a node: what others depend on comes first. */
const ORDER: Role[] = ['kdc', 'namenode', 'kms', 'datanode', 'kafka', 'spark-master', 'spark-worker', 'monitor'];

/** A node's services: its roles', then what every node runs (host metrics). */
export function servicesFor(roles: readonly Role[]): Service[] {
  return [...ORDER.filter((r) => roles.includes(r)).flatMap((r) => SERVICES[r]), nodeExporterService];
}
