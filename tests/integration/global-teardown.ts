export default async function globalTeardown(): Promise<void> {
  // The teardown is a test of its own (zz-teardown.test.ts), so that its checks can fail the run.
}
