/** Unit tests need no network and run first; integration tests use the real local cluster. */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
};
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
      globalSetup: '<rootDir>/tests/integration/global-setup.ts',
      globalTeardown: '<rootDir>/tests/integration/global-teardown.ts',
    },
  ],
};
