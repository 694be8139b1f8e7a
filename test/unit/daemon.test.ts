// The Daemon's orchestration with an in-memory registry and a recording backend: the start-up
// order, no reconcile before the first snapshot (so a restart never wipes a previous run's
// entries), readiness, coalesced reconciles, the HTTP endpoints, and a stop that leaves the
// datapath alone.
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, BackendDetails, BgpPeerReport, LocalNode, ReconcileReport } from '../../modes/backend.js';
import { Daemon, type DaemonParts } from '../../src/daemon/daemon.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { createLogger } from '../../src/log.js';
import type { Lease, LocalNodeSpec, NodeRegistry, RemoteNode, Snapshot } from '../../src/registry/types.js';

class MemoryRegistry implements NodeRegistry {
  registered: LocalNodeSpec | undefined;
  listener: ((s: Snapshot) => void) | undefined;
  closed = false;
  async register(self: LocalNodeSpec): Promise<Lease> {
    this.registered = self;
    return { subnet: '10.244.1.0/24', publicIP: self.publicIP };
  }
  watch(onSnapshot: (s: Snapshot) => void): void {
    this.listener = onSnapshot;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  emit(nodes: RemoteNode[], revision = '1'): void {
    this.listener?.({ nodes, revision });
  }
}

class RecordingBackend implements Backend {
  readonly type = 'vxlan' as const;
  calls: string[] = [];
  reconciled: RemoteNode[][] = [];
  failFor = new Set<string>();
  delayMs = 0;
  async start(local: LocalNode) {
    this.calls.push(`start ${local.publicIP}`);
    return { backendType: 'vxlan' as const, backendData: { VNI: 1, VtepMAC: '02:00:00:00:00:01' }, mtu: 1450 };
  }
  async claim(lease: Lease) {
    this.calls.push(`claim ${lease.subnet}`);
  }
  async reconcile(remotes: RemoteNode[]): Promise<ReconcileReport> {
    this.calls.push('reconcile');
    this.reconciled.push(remotes);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const nodes = remotes.map((n) => (this.failFor.has(n.name) ? { node: n.name, subnet: n.subnet, state: 'failed' as const, reason: 'route: ENETUNREACH' } : { node: n.name, subnet: n.subnet, state: 'programmed' as const }));
    return { nodes, added: remotes.length, changed: 0, removed: 0, errors: this.failFor.size, durationMs: 1 };
  }
  async stop() {
    this.calls.push('stop');
  }
}

const remote = (i: number): RemoteNode => ({ name: `n${i}`, subnet: `10.244.${i}.0/24`, publicIP: `192.0.2.${10 + i}`, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: `02:00:00:00:00:0${i}` } });

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  daemons = [];
});

function makeDaemon(overrides: Partial<DaemonParts> = {}) {
  const registry = new MemoryRegistry();
  const backend = new RecordingBackend();
  const cni: string[] = [];
  const daemon = new Daemon({
    nodeName: 'n1',
    registry,
    backend,
    selectUnderlay: async () => ({ name: 'eth0', index: 2, mtu: 1500, address: '192.0.2.11' }),
    writeCni: async (lease, mtu) => {
      backend.calls.push(`cni ${lease.subnet} ${mtu}`);
      cni.push(lease.subnet);
    },
    resyncMs: 60_000,
    health: { host: '127.0.0.1', port: 0 },
    metrics: new DaemonMetrics({ processMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    ...overrides,
  });
  daemons.push(daemon);
  return { daemon, registry, backend, cni };
}

async function get(daemon: Daemon, path: string): Promise<{ status: number; body: string }> {
  const { host, port } = daemon.healthEndpoint!;
  const res = await fetch(`http://${host}:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('Daemon', () => {
  it('starts the backend, registers with its data, claims the lease, then writes the CNI files', async () => {
    const { daemon, registry, backend } = makeDaemon();
    await daemon.start();
    expect(backend.calls).toEqual(['start 192.0.2.11', 'claim 10.244.1.0/24', 'cni 10.244.1.0/24 1450']);
    expect(registry.registered).toMatchObject({ name: 'n1', publicIP: '192.0.2.11', backendType: 'vxlan', backendData: { VtepMAC: '02:00:00:00:00:01' } });
  });

  it('publishes the --public-ip override instead of the underlay address', async () => {
    const { daemon, registry } = makeDaemon({ publicIP: '198.51.100.7' });
    await daemon.start();
    expect(registry.registered?.publicIP).toBe('198.51.100.7');
  });

  it('does not reconcile before the first snapshot, so a restart keeps the previous entries', async () => {
    const { daemon, backend } = makeDaemon();
    await daemon.start();
    await daemon.settled();
    expect(backend.reconciled).toEqual([]);
    expect((await get(daemon, '/readyz')).body).toContain('no registry snapshot yet');
  });

  it('reconciles each snapshot and becomes ready when every remote node is programmed', async () => {
    const { daemon, registry, backend } = makeDaemon();
    await daemon.start();
    registry.emit([remote(2), remote(3)]);
    await daemon.settled();
    expect(backend.reconciled.at(-1)?.map((n) => n.name)).toEqual(['n2', 'n3']);
    expect(await get(daemon, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
    const status = JSON.parse((await get(daemon, '/status')).body) as { ready: boolean; subnet: string; remoteNodes: { name: string; state: string }[] };
    expect(status).toMatchObject({ ready: true, subnet: '10.244.1.0/24', remoteNodes: [{ name: 'n2', state: 'programmed' }, { name: 'n3', state: 'programmed' }] });
  });

  it('exports per-peer BGP gauges from details() after each reconcile and drops peers that went away', async () => {
    const { daemon, registry, backend } = makeDaemon();
    const peer = (address: string, state: string, accepted: number): BgpPeerReport => ({ address, asn: 64512, state, prefixesReceived: accepted + 1, prefixesAccepted: accepted, prefixesAdvertised: 1 });
    let peers = [peer('192.0.2.12', 'Established', 1), peer('192.0.2.13', 'Connect', 0)];
    (backend as Backend).details = (): BackendDetails => ({ bgp: { asn: 64512, routerId: '192.0.2.11', peers } });
    await daemon.start();
    registry.emit([remote(2), remote(3)]);
    await daemon.settled();
    let metrics = (await get(daemon, '/metrics')).body;
    expect(metrics).toContain('weft_bgp_peer_up{peer="192.0.2.12"} 1');
    expect(metrics).toContain('weft_bgp_peer_up{peer="192.0.2.13"} 0');
    expect(metrics).toContain('weft_bgp_peer_prefixes{peer="192.0.2.12",kind="received"} 2');
    expect(metrics).toContain('weft_bgp_peer_prefixes{peer="192.0.2.12",kind="accepted"} 1');
    expect(metrics).toContain('weft_bgp_peer_prefixes{peer="192.0.2.12",kind="advertised"} 1');
    const status = JSON.parse((await get(daemon, '/status')).body) as { bgp?: BackendDetails['bgp'] };
    expect(status.bgp?.peers.map((p) => p.address)).toEqual(['192.0.2.12', '192.0.2.13']);

    peers = [peer('192.0.2.12', 'Established', 1)];
    registry.emit([remote(2)], '2');
    await daemon.settled();
    metrics = (await get(daemon, '/metrics')).body;
    expect(metrics).toContain('weft_bgp_peer_up{peer="192.0.2.12"} 1');
    expect(metrics).not.toContain('192.0.2.13');
  });

  it('exports no BGP gauge values for a backend without details()', async () => {
    const { daemon, registry } = makeDaemon();
    await daemon.start();
    registry.emit([remote(2)]);
    await daemon.settled();
    const metrics = (await get(daemon, '/metrics')).body;
    expect(metrics).not.toMatch(/weft_bgp_peer_up\{/);
    expect(JSON.parse((await get(daemon, '/status')).body)).not.toHaveProperty('bgp');
  });

  it('is not ready while a remote node failed to program, and says which', async () => {
    const { daemon, registry, backend } = makeDaemon();
    backend.failFor.add('n3');
    await daemon.start();
    registry.emit([remote(2), remote(3)]);
    await daemon.settled();
    const ready = await get(daemon, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('1 of 2 remote nodes not programmed (n3)');
    const metrics = (await get(daemon, '/metrics')).body;
    expect(metrics).toMatch(/weft_remote_nodes_known 2/);
    expect(metrics).toMatch(/weft_remote_nodes_programmed 1/);
    expect(metrics).toMatch(/weft_kernel_write_errors_total 1/);
  });

  it('coalesces snapshots that arrive during a reconcile into one more pass with the newest set', async () => {
    const { daemon, registry, backend } = makeDaemon();
    backend.delayMs = 50;
    await daemon.start();
    registry.emit([remote(2)], '1');
    registry.emit([remote(2), remote(3)], '2');
    registry.emit([remote(2), remote(3), remote(4)], '3');
    await daemon.settled();
    expect(backend.reconciled.length).toBeLessThanOrEqual(2);
    expect(backend.reconciled.at(-1)?.map((n) => n.name)).toEqual(['n2', 'n3', 'n4']);
  });

  it('serves /healthz while starting and 404 with a hint elsewhere', async () => {
    const { daemon } = makeDaemon();
    await daemon.start();
    expect(await get(daemon, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await get(daemon, '/nope')).body).toContain('/healthz /readyz /metrics /status');
  });

  it('stops the control plane only: closes the registry, stops the backend, deletes nothing', async () => {
    const { daemon, registry, backend } = makeDaemon();
    await daemon.start();
    registry.emit([remote(2)]);
    await daemon.settled();
    await daemon.stop();
    expect(registry.closed).toBe(true);
    expect(backend.calls.at(-1)).toBe('stop');
    expect(backend.reconciled.every((set) => set.length === 1)).toBe(true);
  });
});
