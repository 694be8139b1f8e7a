// Route arrival and departure as the benches time them: from rtnetlink route notifications, not
// by polling, stamped on CLOCK_MONOTONIC (harness.monotonicMs) the moment they are read.
//
//   RouteWaiters — one route (action, protocol, dst) expected in several namespaces: resolves with
//                  each namespace's arrival time (convergence, bgp-convergence);
//   RouteTally   — the set of routes with one protocol in one namespace, kept from events: resolves
//                  when a condition on that set first holds (bgp-scale: all N in, K gone).
//
// What it is not: a check of the route's contents (the benches dump and compare for that), nor
// a guarantee: the kernel drops notifications when a reader falls behind (NETLINK_NO_ENOBUFS), so
// RouteTally can be re-seeded from a dump.
import type { NetlinkEvent } from '../src/netlink/index.js';
import { monotonicMs } from './harness.js';

/** Waits for one route notification (action, protocol, dst) from every listed namespace. */
export class RouteWaiters {
  private readonly waiting = new Map<string, { remaining: Set<number>; times: Map<number, number>; done: (times: Map<number, number>) => void }>();

  constructor(private readonly timeoutMs = 10_000) {}

  /** The event listener for namespace `node` (pass to Netlink.subscribe). */
  listener(node: number): (event: NetlinkEvent) => void {
    return (event) => {
      if (event.kind !== 'route') return;
      const at = monotonicMs();
      const w = this.waiting.get(`${event.action}|${event.route.protocol}|${event.route.dst}`);
      if (!w || !w.remaining.has(node)) return;
      w.remaining.delete(node);
      w.times.set(node, at);
      if (w.remaining.size === 0) w.done(w.times);
    };
  }

  /** Arm before writing; resolves with each node's arrival time (CLOCK_MONOTONIC ms). */
  expect(action: 'new' | 'del', protocol: number, dst: string, nodes: number[]): Promise<Map<number, number>> {
    const key = `${action}|${protocol}|${dst}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const w = this.waiting.get(key);
        this.waiting.delete(key);
        reject(new Error(`route ${action} ${dst} (proto ${protocol}) not seen within ${this.timeoutMs} ms on node(s) ${[...(w?.remaining ?? [])].join(', ')}`));
      }, this.timeoutMs);
      this.waiting.set(key, {
        remaining: new Set(nodes),
        times: new Map(),
        done: (times) => {
          clearTimeout(timer);
          this.waiting.delete(key);
          resolve(times);
        },
      });
    });
  }
}

/** The routes of one protocol in one namespace, followed from events. */
export class RouteTally {
  readonly present = new Set<string>();
  /** When each dst last arrived (CLOCK_MONOTONIC ms). */
  readonly arrived = new Map<string, number>();
  private readonly conditions = new Set<{ test: (t: RouteTally) => boolean; done: (atMs: number) => void }>();

  constructor(private readonly protocol: number) {}

  listener(): (event: NetlinkEvent) => void {
    return (event) => {
      if (event.kind !== 'route' || event.route.protocol !== this.protocol || event.route.family !== 4) return;
      const at = monotonicMs();
      if (event.action === 'new') {
        this.present.add(event.route.dst);
        this.arrived.set(event.route.dst, at);
      } else {
        this.present.delete(event.route.dst);
      }
      this.check(at);
    };
  }

  /** Replaces what is known with a dump (after possible event loss) and re-checks the conditions. */
  reseed(dsts: Iterable<string>): void {
    this.present.clear();
    for (const d of dsts) this.present.add(d);
    this.check(monotonicMs());
  }

  /** Resolves with the time `test` first holds (now, if it already does). */
  when(test: (t: RouteTally) => boolean): Promise<number> {
    if (test(this)) return Promise.resolve(monotonicMs());
    return new Promise((resolve) => this.conditions.add({ test, done: resolve }));
  }

  private check(at: number): void {
    for (const c of this.conditions) {
      if (!c.test(this)) continue;
      this.conditions.delete(c);
      c.done(at);
    }
  }
}
