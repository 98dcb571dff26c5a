import { buildClientStores, buildKeyStoresContext, planClientStores } from '../../../provisioning/keystores';
import { planCluster } from '../../../provisioning/plan';
import { factsFor } from '../../fixtures/facts';
import { fakeHost } from './fake-host';

const pem = { certPem: 'CERT alice\n', keyPem: 'KEY alice\n', caPem: 'CA\n' };
const buildFunction = (script: string): string => script.slice(script.indexOf('build() {'), script.indexOf('\n}\n'));

describe('keystores built on a node', () => {
  it('quotes every value the script hands to the shell, in the context builder', () => {
    const { stores } = buildKeyStoresContext([
      { kind: 'pkcs12', path: "/tmp/a b/it's.p12", pemPath: '/tmp/a b/key.pem', passwordPath: '/tmp/a b/password', owner: 'spark', restarts: [] },
    ]);
    expect(stores).toEqual([
      { kind: 'pkcs12', path: `'/tmp/a b/it'\\''s.p12'`, pemPath: `'/tmp/a b/key.pem'`, passwordPath: `'/tmp/a b/password'`, owner: 'spark', alias: 'millrace' },
    ]);
  });

  it("builds an operator's stores with the same script as the services' stores, the principal as the key's alias", () => {
    const plan = planClientStores('Reporting.App', pem, 'store-secret', '/root/.millrace-credentials-test');
    const script = plan.uploads.find((u) => u.path === plan.script)!.content;
    expect(script).toContain('build pkcs12 /root/.millrace-credentials-test/keystore.p12 /root/.millrace-credentials-test/key.pem /root/.millrace-credentials-test/password root Reporting.App\n');
    expect(script).toContain('build truststore /root/.millrace-credentials-test/truststore.jks /root/.millrace-credentials-test/ca.pem /root/.millrace-credentials-test/password root millrace\n');
    expect(script).not.toContain('store-secret');
    const services = planCluster(factsFor()).find((p) => p.node.name === 'hdfs-1')!.keyStoreScript;
    expect(buildFunction(services)).toContain('openssl pkcs12 -export');
    expect(buildFunction(script)).toBe(buildFunction(services));
    expect(plan.uploads.map((u) => [u.path.replace(plan.dir, '<dir>'), u.content === script ? '<script>' : u.content])).toEqual([
      ['<dir>/key.pem', 'KEY alice\nCERT alice\n'],
      ['<dir>/ca.pem', 'CA\n'],
      ['<dir>/password', 'store-secret'],
      ['<dir>/keystores.sh', '<script>'],
    ]);
  });

  it('runs the script in a private directory, brings the stores back and removes the directory; the password is never on a command line', async () => {
    const plan = planClientStores('alice', pem, 'store-secret', '/root/.millrace-credentials-test');
    const host = fakeHost('kafka-1');
    host.files.set(plan.keystore, 'P12');
    host.files.set(plan.truststore, 'JKS');
    const stores = await buildClientStores(host, plan);
    expect([stores.keystore.toString(), stores.truststore.toString()]).toEqual(['P12', 'JKS']);
    expect(host.commands).toEqual(['mkdir -m 700 /root/.millrace-credentials-test', 'sh /root/.millrace-credentials-test/keystores.sh', 'rm -rf /root/.millrace-credentials-test']);
    expect(host.files.get(`${plan.dir}/password`)).toBe('store-secret');
  });

  it('removes the directory when the build fails, and says what failed where', async () => {
    const plan = planClientStores('alice', pem, 'store-secret', '/root/.millrace-credentials-test');
    const host = fakeHost('kafka-1', (c) => (c.startsWith('sh ') ? { code: 1, stderr: 'keytool: not found' } : undefined));
    await expect(buildClientStores(host, plan)).rejects.toThrow(/^kafka-1: `sh \/root\/\.millrace-credentials-test\/keystores\.sh` exited with 1\n\s+keytool: not found/);
    expect(host.commands.at(-1)).toBe('rm -rf /root/.millrace-credentials-test');
  });
});
