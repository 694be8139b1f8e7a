// CounterMirror: a Prometheus counter kept equal to totals counted elsewhere (a BGP session's
// NOTIFICATIONs, the listener's refused connections), as /metrics shows it.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterMirror } from '../../src/daemon/counter-mirror.js';

function mirror(): { m: CounterMirror<'peer' | 'reason'>; values: () => Promise<Record<string, number>> } {
  const registry = new Registry();
  const counter = new Counter({ name: 'test_rejected_total', help: 'test', labelNames: ['peer', 'reason'], registers: [registry] });
  const values = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await counter.get()).values.map((v) => [`${v.labels.peer ?? '-'}/${v.labels.reason ?? '-'}`, v.value]));
  return { m: new CounterMirror(counter), values };
}

describe('CounterMirror', () => {
  it('shows each label set at its source\'s total, zeros included, and follows it up', async () => {
    const { m, values } = mirror();
    m.update([[{ peer: 'a', reason: 'x' }, 0], [{ peer: 'a', reason: 'y' }, 3]]);
    expect(await values()).toEqual({ 'a/x': 0, 'a/y': 3 });
    m.update([[{ reason: 'x', peer: 'a' }, 2], [{ peer: 'a', reason: 'y' }, 3]]);
    expect(await values()).toEqual({ 'a/x': 2, 'a/y': 3 });
  });

  it('restarts a series whose total went down (its source was made anew), as a counter reset', async () => {
    const { m, values } = mirror();
    m.update([[{ peer: 'a', reason: 'x' }, 5]]);
    m.update([[{ peer: 'a', reason: 'x' }, 1]]);
    expect(await values()).toEqual({ 'a/x': 1 });
  });

  it('removes the series of a source that is gone', async () => {
    const { m, values } = mirror();
    m.update([[{ peer: 'a', reason: 'x' }, 1], [{ peer: 'b', reason: 'x' }, 1]]);
    m.update([[{ peer: 'b', reason: 'x' }, 1]]);
    expect(await values()).toEqual({ 'b/x': 1 });
    m.update([]);
    expect(await values()).toEqual({});
  });
});
