// Unit tests of the daemon's flags: precedence (flag > WEFT_ env > default), the registry default,
// every invalid value → one ConfigError naming the flag (a table), and addDaemonOptions with a
// real commander program.
import { Command, Option } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDaemonOptions, netConfFromRegistry, resolveDaemonConfig } from '../../src/config/daemon-config.js';
import { parseDuration, splitRegexList } from '../../src/config/flag-values.js';
import { ConfigError } from '../../src/config/errors.js';

const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":7}}';

function files(map: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = map[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

const readNetConf = files({ '/etc/weft/net-conf.json': NET_CONF, '/tmp/nc.json': NET_CONF, '/tmp/bad.json': '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":"x"}}' });

function resolve(opts: Record<string, unknown>, env: Record<string, string> = {}) {
  return resolveDaemonConfig(opts, env, readNetConf, { hostname: 'Host-1' });
}

function errorOf(opts: Record<string, unknown>, env: Record<string, string> = {}): ConfigError {
  try {
    resolve(opts, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify({ opts, env })}`);
}

describe('resolveDaemonConfig', () => {
  it('fills every default (etcd registry outside a cluster, net-conf from etcd)', () => {
    expect(resolve({})).toEqual({
      nodeName: 'host-1',
      registry: 'etcd',
      kubeAnnotationPrefix: 'weft.io/',
      etcdEndpoints: ['http://127.0.0.1:2379'],
      etcdPrefix: '/weft/network',
      iface: [],
      ifaceRegex: [],
      subnetFile: '/run/weft/subnet.env',
      cniConfDir: '/etc/cni/net.d',
      ipMasq: false,
      healthAddr: { host: '127.0.0.1', port: 9420 },
      resyncMs: 10_000,
      logLevel: 'info',
    });
  });

  it('defaults to the kube registry in a cluster, reading /etc/weft/net-conf.json', () => {
    const config = resolve({}, { KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'node-a' });
    expect(config).toMatchObject({ registry: 'kube', nodeName: 'node-a', netConfPath: '/etc/weft/net-conf.json' });
    expect(config.netConf?.backend.vxlan.vni).toBe(7);
    expect(resolve({ kubeconfig: '/root/.kube/config' }).registry).toBe('kube');
    expect(resolve({ registry: 'etcd' }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).registry).toBe('etcd');
  });

  it('takes every flag, and the flag wins over WEFT_ env', () => {
    const config = resolve(
      {
        backend: 'bgp',
        nodeName: 'n1',
        registry: 'etcd',
        etcdEndpoints: 'http://192.0.2.1:2379, https://etcd.example:2379',
        etcdPrefix: '/coreos.com/network/',
        netConf: '/tmp/nc.json',
        iface: ['eth1', '192.0.2.7'],
        ifaceRegex: ['^en', '^192\\.0\\.2\\.'],
        publicIp: '198.51.100.7',
        publicIpv6: '2001:db8::7',
        subnetFile: '/tmp/subnet.env',
        cniConfDir: '/tmp/cni',
        ipMasq: true,
        healthAddr: '[::1]:0',
        resync: '1m30s',
        logLevel: 'debug',
      },
      { WEFT_NODE_NAME: 'from-env', WEFT_RESYNC: '5s' },
    );
    expect(config).toMatchObject({
      nodeName: 'n1',
      registry: 'etcd',
      backendOverride: 'bgp',
      etcdEndpoints: ['http://192.0.2.1:2379', 'https://etcd.example:2379'],
      etcdPrefix: '/coreos.com/network',
      iface: ['eth1', '192.0.2.7'],
      ifaceRegex: ['^en', '^192\\.0\\.2\\.'],
      publicIP: '198.51.100.7',
      publicIPv6: '2001:db8::7',
      subnetFile: '/tmp/subnet.env',
      cniConfDir: '/tmp/cni',
      ipMasq: true,
      healthAddr: { host: '::1', port: 0 },
      resyncMs: 90_000,
      logLevel: 'debug',
    });
    // --backend overrides Backend.Type of the file.
    expect(config.netConf?.backend.type).toBe('bgp');
    expect(config.netConf?.backend.vxlan.vni).toBe(7);
  });

  it('reads every flag from WEFT_<NAME>', () => {
    const config = resolve(
      {},
      {
        WEFT_BACKEND: 'vxlan',
        WEFT_NODE_NAME: 'env-node',
        WEFT_REGISTRY: 'kube',
        WEFT_KUBE_ANNOTATION_PREFIX: 'flannel.alpha.coreos.com/',
        WEFT_ETCD_ENDPOINTS: 'http://192.0.2.1:2379,http://192.0.2.2:2379',
        WEFT_ETCD_PREFIX: '/x',
        WEFT_NET_CONF: '/tmp/nc.json',
        WEFT_IFACE: 'eth0,2001:db8::1',
        WEFT_IFACE_REGEX: '^eth[0-9]{1,2}$,^ens',
        WEFT_PUBLIC_IP: '192.0.2.9',
        WEFT_SUBNET_FILE: '/tmp/s.env',
        WEFT_CNI_CONF_DIR: '/tmp/d',
        WEFT_IP_MASQ: 'true',
        WEFT_HEALTH_ADDR: ':9999',
        WEFT_RESYNC: '500ms',
        WEFT_LOG_LEVEL: 'warn',
      },
    );
    expect(config).toMatchObject({
      nodeName: 'env-node',
      registry: 'kube',
      kubeAnnotationPrefix: 'flannel.alpha.coreos.com/',
      etcdEndpoints: ['http://192.0.2.1:2379', 'http://192.0.2.2:2379'],
      etcdPrefix: '/x',
      netConfPath: '/tmp/nc.json',
      iface: ['eth0', '2001:db8::1'],
      ifaceRegex: ['^eth[0-9]{1,2}$', '^ens'],
      publicIP: '192.0.2.9',
      cniConfDir: '/tmp/d',
      ipMasq: true,
      healthAddr: { host: '0.0.0.0', port: 9999 },
      resyncMs: 500,
      logLevel: 'warn',
    });
  });

  it('prefers WEFT_NODE_NAME over NODE_NAME over the host name', () => {
    expect(resolve({}, { WEFT_NODE_NAME: 'a', NODE_NAME: 'b' }).nodeName).toBe('a');
    expect(resolve({}, { NODE_NAME: 'b' }).nodeName).toBe('b');
    expect(resolveDaemonConfig({}, {}, readNetConf, { hostname: 'h.example' }).nodeName).toBe('h.example');
  });
});

/** [opts, env, message] — one line naming the flag and what it accepts. */
const INVALID: [Record<string, unknown>, Record<string, string>, string][] = [
  [{ backend: 'host-gw' }, {}, '--backend: expected one of vxlan, bgp, got "host-gw"'],
  [{}, { WEFT_BACKEND: 'udp' }, '--backend: expected one of vxlan, bgp, got "udp" (from WEFT_BACKEND)'],
  [{ registry: 'consul' }, {}, '--registry: expected one of kube, etcd, got "consul"'],
  [{ nodeName: 'Bad_Name' }, {}, '--node-name: expected a node name: lowercase letters, digits, "-" and ".", at most 253 characters, got "Bad_Name"'],
  [{}, { NODE_NAME: '-x' }, '--node-name: expected a node name: lowercase letters, digits, "-" and ".", at most 253 characters, got "-x" (from NODE_NAME)'],
  [{ kubeAnnotationPrefix: 'weft.io' }, {}, '--kube-annotation-prefix: expected a DNS subdomain followed by "/", like weft.io/, got "weft.io"'],
  [{ etcdEndpoints: '127.0.0.1:2379' }, {}, '--etcd-endpoints: expected comma-separated http:// or https:// URLs with host and port, like http://127.0.0.1:2379, got "127.0.0.1:2379"'],
  [{ etcdEndpoints: 'http://a:1,ftp://b' }, {}, '--etcd-endpoints: expected comma-separated http:// or https:// URLs with host and port, like http://127.0.0.1:2379, got "http://a:1,ftp://b"'],
  [{ etcdEndpoints: ',' }, {}, '--etcd-endpoints: expected comma-separated http:// or https:// URLs with host and port, like http://127.0.0.1:2379, got ","'],
  [{ etcdPrefix: 'weft' }, {}, '--etcd-prefix: expected an etcd key prefix starting with "/", like /weft/network, got "weft"'],
  [{ iface: ['eth0', 'a/b'] }, {}, '--iface: expected an interface name (1–15 characters) or an IP address, got "a/b"'],
  [{ iface: ['300.1.1.1'] }, {}, '--iface: expected an interface name (1–15 characters) or an IP address, got "300.1.1.1"'],
  [{ iface: ['averyveryverylongname'] }, {}, '--iface: expected an interface name (1–15 characters) or an IP address, got "averyveryverylongname"'],
  [{ ifaceRegex: ['(eth'] }, {}, '--iface-regex: expected a valid regular expression (Invalid regular expression: /(eth/: Unterminated group), got "(eth"'],
  [{ publicIp: '2001:db8::1' }, {}, '--public-ip: expected an IPv4 address, got "2001:db8::1"'],
  [{ publicIp: 'node-a' }, {}, '--public-ip: expected an IPv4 address, got "node-a"'],
  [{ publicIpv6: '192.0.2.1' }, {}, '--public-ipv6: expected an IPv6 address, got "192.0.2.1"'],
  [{}, { WEFT_IP_MASQ: 'maybe' }, '--ip-masq: expected true or false (also 1/0, yes/no), got "maybe" (from WEFT_IP_MASQ)'],
  [{ healthAddr: '9420' }, {}, '--health-addr: expected host:port, [IPv6]:port or :port, with a port 0–65535, got "9420"'],
  [{ healthAddr: 'localhost:70000' }, {}, '--health-addr: expected host:port, [IPv6]:port or :port, with a port 0–65535, got "localhost:70000"'],
  [{ resync: '10' }, {}, '--resync: expected a duration like 10s, 1m30s or 500ms (100ms–24h), got "10"'],
  [{ resync: '10ms' }, {}, '--resync: expected a duration like 10s, 1m30s or 500ms (100ms–24h), got "10ms"'],
  [{ resync: '25h' }, {}, '--resync: expected a duration like 10s, 1m30s or 500ms (100ms–24h), got "25h"'],
  [{ logLevel: 'loud' }, {}, '--log-level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
  [{ subnetFile: 'a\0b' }, {}, '--subnet-file: expected a file system path, got "a\\u0000b"'],
  [{ netConf: '/nope.json' }, {}, '--net-conf: expected a readable net-conf.json file, got "/nope.json" (ENOENT)'],
  [{ netConf: '/tmp/bad.json' }, {}, '/tmp/bad.json: Backend.VNI: expected an integer 0–16777215, got "x"'],
  [{ resync: 5 }, {}, '--resync: expected a single value, got 5'],
];

describe('resolveDaemonConfig: invalid values', () => {
  it.each(INVALID)('%j %j', (opts, env, message) => {
    const error = errorOf(opts, env);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('\n');
  });

  it('needs the default net-conf.json with the kube registry', () => {
    expect(() => resolveDaemonConfig({ registry: 'kube', nodeName: 'n' }, {}, files({}))).toThrow(
      new ConfigError('--net-conf', '/etc/weft/net-conf.json', 'a readable net-conf.json file', { problem: '"/etc/weft/net-conf.json" (ENOENT)' }),
    );
  });

  it('refuses to guess a node name when there is none', () => {
    expect(() => resolveDaemonConfig({}, {}, readNetConf)).toThrow('--node-name: expected a node name: lowercase letters, digits, "-" and ".", at most 253 characters (--node-name, WEFT_NODE_NAME or NODE_NAME), got nothing');
  });

  it('throws nothing but ConfigError for random string flags and env', () => {
    const attrs = ['backend', 'nodeName', 'registry', 'kubeAnnotationPrefix', 'etcdEndpoints', 'etcdPrefix', 'publicIp', 'healthAddr', 'resync', 'logLevel', 'ipMasq'];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...attrs), fc.string()), fc.array(fc.string(), { maxLength: 3 }), (opts, ifaces) => {
        try {
          resolveDaemonConfig({ ...opts, iface: ifaces, ifaceRegex: ifaces }, {}, readNetConf, { hostname: 'h' });
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('helpers', () => {
  it('checks a net-conf.json read from etcd, naming the key, with --backend applied', () => {
    expect(netConfFromRegistry({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } }, '/weft/network/config', { backendOverride: 'bgp' }).backend.type).toBe('bgp');
    expect(() => netConfFromRegistry({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan', Port: 'x' } }, '/weft/network/config', {})).toThrow(
      'etcd /weft/network/config: Backend.Port: expected an integer 1–65535, got "x"',
    );
  });

  it('parses Go-style durations', () => {
    const fail = (e: string): never => {
      throw new Error(e);
    };
    expect(parseDuration('10s', fail)).toBe(10_000);
    expect(parseDuration('1h', fail)).toBe(3_600_000);
    expect(parseDuration('1.5s', fail)).toBe(1500);
    expect(() => parseDuration('1 s', fail)).toThrow();
  });

  it('splits regex lists on top-level commas only', () => {
    expect(splitRegexList('^eth[0-9]{1,2}$,^en(a,b)\\,x,z')).toEqual(['^eth[0-9]{1,2}$', '^en(a,b)\\,x', 'z']);
  });
});

describe('addDaemonOptions', () => {
  it('declares the flags on a commander command; repeatable ones collect', () => {
    const program = new Command('weft').exitOverride();
    let seen: Record<string, unknown> = {};
    addDaemonOptions(program.command('daemon'))
      .exitOverride()
      .action((_opts, cmd: Command) => {
        seen = cmd.optsWithGlobals();
      });
    program.parse(['node', 'weft', 'daemon', '--iface', 'eth0', '--iface', '192.0.2.1', '--iface-regex', '^en', '--ip-masq', '--backend', 'vxlan', '--log-level', 'debug', '--resync', '1m']);
    expect(seen).toEqual({ iface: ['eth0', '192.0.2.1'], ifaceRegex: ['^en'], ipMasq: true, backend: 'vxlan', logLevel: 'debug', resync: '1m' });
    const config = resolveDaemonConfig(seen, {}, readNetConf, { hostname: 'h' });
    expect(config).toMatchObject({ iface: ['eth0', '192.0.2.1'], ipMasq: true, backendOverride: 'vxlan', logLevel: 'debug', resyncMs: 60_000 });
  });

  it('leaves --log-level to a parent that declares it', () => {
    const program = new Command('weft').addOption(new Option('--log-level <level>').default('info'));
    const daemon = addDaemonOptions(program.command('daemon'));
    expect(daemon.options.some((o) => o.long === '--log-level')).toBe(false);
    expect(daemon.options.map((o) => o.long)).toContain('--etcd-endpoints');
    expect(daemon.helpInformation()).toContain('WEFT_ETCD_ENDPOINTS');
  });
});
