/** The one explicit map from a role to the service that runs it. */
import type { Role } from '../lib/roles';
import type { Service } from './service';
import { kdcService } from './kerberos/kdc';
import { kafkaService } from './services/kafka';
import { datanodeService, namenodeService } from './services/hdfs';
import { kmsService } from './services/kms';
import { nodeExporterService, prometheusService } from './services/metrics';
import { sparkMasterService, sparkWorkerService } from './services/spark';

export const SERVICES: Record<Role, Service> = {
  kafka: kafkaService,
  namenode: namenodeService,
  datanode: datanodeService,
  kms: kmsService,
  'spark-master': sparkMasterService,
  'spark-worker': sparkWorkerService,
  kdc: kdcService,
  monitor: prometheusService,
};

/** Start order on a node: what others depend on comes first. */
const ORDER: Role[] = ['kdc', 'namenode', 'kms', 'datanode', 'kafka', 'spark-master', 'spark-worker', 'monitor'];

/** A node's services: its roles', then what every node runs (host metrics). */
export function servicesFor(roles: readonly Role[]): Service[] {
  return [...ORDER.filter((r) => roles.includes(r)).map((r) => SERVICES[r]), nodeExporterService];
}
