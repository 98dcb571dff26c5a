/**
 * The local nodes boot the way EC2 instances boot, and millrace reaches them the way it reaches
 * EC2 instances: cloud-init from the NoCloud seed with the very user-data the AWS stack gives its
 * instances, an unprivileged login user with passwordless sudo, root logins refused, a machine-id
 * and hostname of each node's own, and a blank data disk that `up` formats and mounts by label.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInventory } from '../../lib/inventory';
import { HostUnreachableError } from '../../lib/errors';
import { clusterKnownHosts } from '../../provisioning/known-hosts';
import { connect, RemoteHost } from '../../provisioning/remote-host';
import { imageDir } from '../../targets/local/image';
import { fingerprint } from '../../provisioning/known-hosts';
import { ADDRESSES, cli, CLUSTER, CONFIG, HOST_BEFORE, hostNetworkFacts, node, stateDir, TEST_DIR } from './harness';

const NODES = Object.keys(ADDRESSES) as (keyof typeof ADDRESSES)[];

async function onEveryNode<T>(fn: (host: RemoteHost, name: keyof typeof ADDRESSES) => Promise<T>): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  for (const name of NODES) {
    const host = await node(name);
    try {
      out[name] = await fn(host, name);
    } finally {
      await host.close();
    }
  }
  return out;
}

describe('login', () => {
  it('reaches every node as admin, through sudo, never as root', async () => {
    const inventory = readInventory(CLUSTER);
    expect(inventory.nodes.map((n) => `${n.name} ${n.sshUser}`)).toEqual(NODES.map((n) => `${n} admin`));
    const seen = await onEveryNode(async (host) => ({
      login: host.loginUser,
      // Commands run as root; the SSH session itself is admin's (sudo records who asked).
      asRoot: (await host.execOrThrow('id -un; echo "$SUDO_USER"')).trim().split('\n'),
    }));
    for (const name of NODES) expect(seen[name]).toEqual({ login: 'admin', asRoot: ['root', 'admin'] });
  });

  it('refuses a root login on every node, even with the operator key, and sshd says PermitRootLogin no', async () => {
    for (const n of readInventory(CLUSTER).nodes) {
      const error = await connect({ ...n, sshUser: 'root' }, { knownHosts: clusterKnownHosts(CLUSTER), retries: 0 }).then(
        async (h) => {
          await h.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as Error).message).toMatch(new RegExp(`^${n.name} \\(${n.sshAddress}:22\\): cannot connect over SSH: the SSH key .* was refused for user root$`));
    }
    const effective = await onEveryNode(async (host) => (await host.execOrThrow('sshd -T | grep -E "^(permitrootlogin|passwordauthentication) "')).trim());
    for (const name of NODES) expect(effective[name]).toBe('permitrootlogin no\npasswordauthentication no');
  });
});

describe('cloud-init', () => {
  it('finished on every node; each node has a machine-id and a hostname of its own, none from the image', async () => {
    const seen = await onEveryNode(async (host) => {
      const [status, machineId, hostname, etcHostname] = (await host.execOrThrow('cloud-init status | sed -n "s/^status: //p"; cat /etc/machine-id; hostname; cat /etc/hostname')).trim().split('\n');
      return { status, machineId, hostname, etcHostname };
    });
    for (const name of NODES) {
      expect(seen[name]).toMatchObject({ status: 'done', hostname: name, etcHostname: name });
      expect(seen[name]!.machineId).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(new Set(NODES.map((n) => seen[n]!.machineId)).size).toBe(NODES.length);
    // The image ships what an EC2 image ships: no machine-id, no hostname, no host keys.
    const image = imageDir();
    expect(fs.readFileSync(path.join(image, 'etc/machine-id'), 'utf8')).toBe('');
    expect(fs.readFileSync(path.join(image, 'etc/hostname'), 'utf8')).toBe('');
    expect(fs.readdirSync(path.join(image, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_'))).toEqual([]);
  });

  it("left this machine's network alone (the nodes share its namespace): hostname, hosts, resolv.conf, interfaces", () => {
    expect(hostNetworkFacts()).toEqual(JSON.parse(fs.readFileSync(HOST_BEFORE, 'utf8')));
  });

  it('kept the host key millrace made and pinned before the first boot, and made no other', async () => {
    const keys = await onEveryNode(async (host) => (await host.execOrThrow('ls /etc/ssh | grep "^ssh_host_" | sort; cut -d" " -f2 /etc/ssh/ssh_host_ed25519_key.pub')).trim().split('\n'));
    for (const name of NODES) {
      const [priv, pub, blob] = keys[name]!;
      expect([priv, pub, keys[name]!.length]).toEqual(['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub', 3]);
      expect(fingerprint(Buffer.from(blob!, 'base64'))).toBe(clusterKnownHosts(CLUSTER).get(name)!.fingerprint);
    }
  });

  it('the user-data every node booted with is, byte for byte, the user_data of every instance in the synthesized AWS stack', async () => {
    const out = path.join(TEST_DIR, 'synth-user-data');
    fs.rmSync(out, { recursive: true, force: true });
    const synth = await cli(['synth', '--json', '-c', CONFIG, '-o', out]);
    expect(synth.code).toBe(0);
    const stack = JSON.parse(fs.readFileSync((JSON.parse(synth.stdout) as { file: string }).file, 'utf8')) as { resource: { aws_instance: Record<string, { user_data: string }> } };
    const instances = Object.values(stack.resource.aws_instance);
    expect(instances).toHaveLength(NODES.length);
    const booted = await onEveryNode(async (host) => (await host.getFile('/var/lib/cloud/instance/user-data.txt')).toString('utf8'));
    for (const name of NODES) {
      expect(booted[name]!.startsWith('#cloud-config\n')).toBe(true);
      for (const i of instances) expect(i.user_data === booted[name]).toBe(true);
    }
    // And it is what created the login user: the operator's key is in admin's authorized_keys.
    const publicKey = fs.readFileSync(path.join(stateDir(), 'ssh', 'id_ed25519.pub'), 'utf8').trim();
    const keys = await onEveryNode(async (host) => (await host.execOrThrow('cat /home/admin/.ssh/authorized_keys')).trim());
    for (const name of NODES) expect(keys[name]).toBe(publicKey);
  });
});

describe('data volume', () => {
  interface Volume {
    source: string;
    fstype: string;
    label: string;
    uuid: string;
    kind: string;
    fstab: string;
    dataOn: string;
  }

  const volumes = (): Promise<Record<string, Volume>> =>
    onEveryNode(async (host) => {
      const text = await host.execOrThrow(
        [
          'src=$(findmnt -no SOURCE --mountpoint /var/lib/millrace)',
          'echo "$src"',
          'findmnt -no FSTYPE --mountpoint /var/lib/millrace',
          'blkid -s LABEL -o value "$src"',
          'blkid -s UUID -o value "$src"',
          'if [ -b "$src" ]; then echo block; else echo not-a-block-device; fi',
          "grep -E '^LABEL=millrace-data[[:space:]]' /etc/fstab",
          // Where the services' data lives: the first directory of each role present.
          'for d in /var/lib/millrace/kafka/data /var/lib/millrace/hdfs /var/lib/millrace/spark; do [ -d "$d" ] && findmnt -no SOURCE --target "$d" && break; done',
        ].join('\n'),
      );
      const [source, fstype, label, uuid, kind, fstab, dataOn] = text.trim().split('\n');
      return { source: source!, fstype: fstype!, label: label!, uuid: uuid!, kind: kind!, fstab: fstab!, dataOn: dataOn! };
    });

  it('on every node, /var/lib/millrace is a real block device (a loop device over the node\'s disk file) mounted by label, with the services\' data on it', async () => {
    const seen = await volumes();
    for (const name of NODES) {
      const v = seen[name]!;
      expect(v).toMatchObject({ fstype: 'ext4', label: 'millrace-data', kind: 'block', fstab: 'LABEL=millrace-data /var/lib/millrace ext4 defaults,noatime,nofail 0 2' });
      expect(v.source).toMatch(/^\/dev\/loop\d+$/);
      expect(v.dataOn).toBe(v.source);
      // On this machine, that device is the node's own sparse disk file.
      const backing = execFileSync('losetup', ['--noheadings', '--output', 'BACK-FILE', v.source], { encoding: 'utf8' }).trim();
      expect(backing).toBe(path.join(stateDir(), 'nodes', name, 'data.img'));
    }
    expect(new Set(NODES.map((n) => seen[n]!.source)).size).toBe(NODES.length);
  });

  it('a second `up` leaves it alone: same device, same filesystem, its files still there, nothing prepared', async () => {
    const before = await volumes();
    const marker = `/var/lib/millrace/.itest-${Date.now()}`;
    await onEveryNode((host) => host.execOrThrow(`echo kept > ${marker}`));
    const r = await cli(['up', '--json', '-c', CONFIG]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { changed: boolean; nodes: { node: string; prepared: string[] }[] };
    expect(result.changed).toBe(false);
    expect(result.nodes.map((n) => n.prepared)).toEqual(NODES.map(() => []));
    expect(await volumes()).toEqual(before);
    const kept = await onEveryNode(async (host) => (await host.execOrThrow(`cat ${marker} && rm -f ${marker}`)).trim());
    for (const name of NODES) expect(kept[name]).toBe('kept');
  });
});
