// Unit tests of the CNI handoff files: the subnet file (flannel's names, round trip, agreement with
// the etcd registry's reader), the conflist, and the atomic writer (rewrite only on change, no
// temporary files left behind).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/cni/atomic.js';
import { buildConflist, CONFLIST_FILE, renderConflist, writeConflist } from '../../src/cni/conflist.js';
import { writeCniHandoff } from '../../src/cni/handoff.js';
import { parseSubnetEnv, parseSubnetEnvVariables, readSubnetEnv, renderSubnetEnv, SubnetEnvError, writeSubnetEnv, type SubnetEnv } from '../../src/cni/subnet-env.js';
import { readPreviousSubnets } from '../../src/registry/subnet-file.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-test-cni-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DUAL: SubnetEnv = { network: '10.244.0.0/16', subnet: '10.244.3.0/24', ipv6Network: 'fd00:10:244::/56', ipv6Subnet: 'fd00:10:244:3::/64', mtu: 1450, ipMasq: true };

describe('subnet file', () => {
  it('uses flannel\'s names, FLANNEL_SUBNET as first usable IP/len', () => {
    expect(renderSubnetEnv({ network: '10.244.0.0/16', subnet: '10.244.3.0/24', mtu: 1450, ipMasq: false })).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
    );
    expect(renderSubnetEnv(DUAL)).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
  });

  it('parses what it writes, and the registry reads the same subnets', async () => {
    expect(parseSubnetEnv(renderSubnetEnv(DUAL))).toEqual(DUAL);
    const path = join(dir, 'run', 'subnet.env');
    expect(await writeSubnetEnv(path, DUAL)).toBe(true);
    expect(await writeSubnetEnv(path, DUAL)).toBe(false);
    expect(await readSubnetEnv(path)).toEqual(DUAL);
    expect(await readPreviousSubnets(path)).toEqual({ subnet: DUAL.subnet, ipv6Subnet: DUAL.ipv6Subnet });
    expect(await readSubnetEnv(join(dir, 'missing.env'))).toBeUndefined();
  });

  it('reads shell-style variations leniently', () => {
    const values = parseSubnetEnvVariables('# comment\nexport A="x y"\nB=\'q\'\nC=3 # note\n  junk line\nD=\n');
    expect(Object.fromEntries(values)).toEqual({ A: 'x y', B: 'q', C: '3', D: '' });
  });

  it.each([
    ['FLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n', 'FLANNEL_NETWORK'],
    ['FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=fd00::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n', 'FLANNEL_SUBNET'],
    ['FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=15\nFLANNEL_IPMASQ=false\n', 'FLANNEL_MTU'],
    ['FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=yes\n', 'FLANNEL_IPMASQ'],
    ['FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_IPV6_SUBNET=fd00::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n', 'FLANNEL_IPV6_NETWORK'],
  ])('rejects a malformed file naming the variable (%#)', (text, variable) => {
    expect(() => parseSubnetEnv(text)).toThrow(SubnetEnvError);
    try {
      parseSubnetEnv(text);
    } catch (error) {
      expect((error as SubnetEnvError).variable).toBe(variable);
    }
  });

  it('throws nothing but SubnetEnvError on random text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseSubnetEnv(text);
        } catch (error) {
          if (!(error instanceof SubnetEnvError)) throw error;
        }
      }),
    );
  });
});

describe('conflist', () => {
  it('chains bridge (host-local) and portmap for the reference plugins', () => {
    expect(buildConflist({ subnet: '10.244.3.0/24', ipv6Subnet: 'fd00:10:244:3::/64', mtu: 1450, dataDir: '/var/lib/weft/ipam' })).toEqual({
      cniVersion: '1.0.0',
      name: 'weft',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          mtu: 1450,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '10.244.3.0/24', gateway: '10.244.3.1' }], [{ subnet: 'fd00:10:244:3::/64', gateway: 'fd00:10:244:3::1' }]],
            routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
            dataDir: '/var/lib/weft/ipam',
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    });
    const single = buildConflist({ subnet: '10.244.3.7/24', mtu: 8950 });
    expect(single.plugins[0]).toMatchObject({ mtu: 8950, ipam: { ranges: [[{ subnet: '10.244.3.0/24', gateway: '10.244.3.1' }]], routes: [{ dst: '0.0.0.0/0' }] } });
    expect(single.plugins[0]!.ipam).not.toHaveProperty('dataDir');
    expect(() => buildConflist({ subnet: 'fd00::/64', mtu: 1450 })).toThrow(RangeError);
  });

  it('writes only when the content changes', async () => {
    const cniDir = join(dir, 'net.d');
    const first = await writeConflist(cniDir, { subnet: '10.244.3.0/24', mtu: 1450 });
    expect(first).toEqual({ path: join(cniDir, CONFLIST_FILE), changed: true });
    const mtime = statSync(first.path).mtimeMs;
    expect((await writeConflist(cniDir, { subnet: '10.244.3.0/24', mtu: 1450 })).changed).toBe(false);
    expect(statSync(first.path).mtimeMs).toBe(mtime);
    expect((await writeConflist(cniDir, { subnet: '10.244.3.0/24', mtu: 1400 })).changed).toBe(true);
    expect(readFileSync(first.path, 'utf8')).toBe(renderConflist({ subnet: '10.244.3.0/24', mtu: 1400 }));
    expect(readdirSync(cniDir)).toEqual([CONFLIST_FILE]);
  });
});

describe('writeFileAtomic', () => {
  it('replaces content, sets the mode, leaves no temporary file, and cleans up on failure', async () => {
    const path = join(dir, 'atomic', 'f.txt');
    expect(await writeFileAtomic(path, 'one')).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    writeFileSync(path, 'changed by hand');
    expect(await writeFileAtomic(path, 'one')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('one');
    expect(readdirSync(join(dir, 'atomic'))).toEqual(['f.txt']);
    // The target is a directory: rename fails, and the temporary file must not stay.
    const blocked = join(dir, 'atomic', 'sub');
    await writeFileAtomic(join(blocked, 'x'), 'x');
    await expect(writeFileAtomic(blocked, 'y')).rejects.toThrow();
    expect(readdirSync(join(dir, 'atomic')).sort()).toEqual(['f.txt', 'sub']);
  });
});

describe('writeCniHandoff', () => {
  it('writes both files consistently, IPv6 only when the cluster and the lease both have it', async () => {
    const paths = { subnetFile: join(dir, 'handoff', 'subnet.env'), cniConfDir: join(dir, 'handoff', 'net.d'), ipamDataDir: '/var/lib/weft/ipam-a' };
    const first = await writeCniHandoff(paths, { network: '10.244.0.0/16', ipv6Network: 'fd00::/56', subnet: '10.244.3.0/24', mtu: 1450, ipMasq: true });
    expect(first).toEqual({ subnetFile: paths.subnetFile, conflist: join(paths.cniConfDir, CONFLIST_FILE), subnetFileChanged: true, conflistChanged: true });
    expect(readFileSync(paths.subnetFile, 'utf8')).not.toContain('IPV6');
    const conflist = JSON.parse(readFileSync(first.conflist, 'utf8')) as { plugins: { ipam?: { ranges: unknown[]; dataDir?: string } }[] };
    expect(conflist.plugins[0]!.ipam).toMatchObject({ ranges: [[{ subnet: '10.244.3.0/24' }]], dataDir: '/var/lib/weft/ipam-a' });

    const dual = { network: '10.244.0.0/16', ipv6Network: 'fd00::/56', subnet: '10.244.3.0/24', ipv6Subnet: 'fd00:0:0:3::/64', mtu: 1450, ipMasq: true };
    expect(await writeCniHandoff(paths, dual)).toMatchObject({ subnetFileChanged: true, conflistChanged: true });
    expect(await writeCniHandoff(paths, dual)).toMatchObject({ subnetFileChanged: false, conflistChanged: false });
    expect(parseSubnetEnv(readFileSync(paths.subnetFile, 'utf8'))).toEqual({ network: '10.244.0.0/16', subnet: '10.244.3.0/24', ipv6Network: 'fd00::/56', ipv6Subnet: 'fd00:0:0:3::/64', mtu: 1450, ipMasq: true });
  });
});
