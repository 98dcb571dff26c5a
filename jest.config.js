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
/**
 * Kerberos: 70 turns it on, 72 runs the pipeline's scenarios on the kerberized cluster, 74 moves it
 * to an existing KDC. They change the cluster for good, so they run last, before teardown.
 */
const KERBEROS_FILES = ['70-kerberos.test.ts', '72-pipeline-kerberos.test.ts', '74-kerberos-existing-kdc.test.ts'];
/**
 * Scaling the cluster out and in (issue 14) is part of the README's command, on the shared
 * cluster before the pipeline (72), whose lake is then still small: decommissioning a DataNode
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
      // Kerberos (70, 72, 74) runs last, before teardown: it changes the cluster for good.
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
      // The Kerberos files alone (they are in the integration run too), on a shared cluster of their own.
      testMatch: [...KERBEROS_FILES.map((f) => `<rootDir>/tests/integration/${f}`), '<rootDir>/tests/integration/zz-teardown.test.ts'],
      ...cluster,
    },
  ],
};
