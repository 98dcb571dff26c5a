/** Unit tests need no network and run first; integration tests use the real local cluster. */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
};
/** The shared local cluster: up once per run, before the first file. */
const cluster = {
  globalSetup: '<rootDir>/tests/integration/global-setup.ts',
  globalTeardown: '<rootDir>/tests/integration/global-teardown.ts',
};
const KERBEROS_FILE = '70-kerberos.test.ts';
/**
 * Scaling the cluster out and in (issue 14) is part of the README's command, on the shared
 * cluster before the pipeline (60), whose lake is then still small: decommissioning a DataNode
 * and `setrep` walk every file. `npm run test:scale` also runs it alone, on a cluster of its own.
 */
const SCALE_FILE = '58-scale.test.ts';
module.exports = {
  testSequencer: '<rootDir>/tests/integration/sequencer.js',
  // Integration steps drive real services (a whole `up` takes minutes); unit tests finish in ms anyway.
  testTimeout: 15 * 60_000,
  // Each test with its time: the suite's budget is read from CI's log.
  verbose: true,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/tests/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/tests/integration/**/*.test.ts'],
      // Kerberos (kerberos.enabled) runs last, before teardown: it changes the cluster for good.
      ...cluster,
    },
    {
      ...common,
      displayName: 'scale',
      testMatch: [`<rootDir>/tests/integration/${SCALE_FILE}`, '<rootDir>/tests/integration/zz-teardown.test.ts'],
      ...cluster,
    },
    {
      ...common,
      displayName: 'kerberos',
      // The Kerberos file alone (it is in the integration run too), on a shared cluster of its own.
      testMatch: [`<rootDir>/tests/integration/${KERBEROS_FILE}`, '<rootDir>/tests/integration/zz-teardown.test.ts'],
      ...cluster,
    },
  ],
};
