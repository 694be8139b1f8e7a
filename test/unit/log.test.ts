// Logging: JSON lines by default (for log shippers), the level is honoured, bad levels are refused.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes one JSON object per line with structured fields', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'info', pretty: false, destination: stream });
    log.child({ component: 'vxlan' }).info({ node: 'n2', subnet: '10.244.2.0/24' }, 'route programmed');
    expect(lines()).toEqual([expect.objectContaining({ level: 30, component: 'vxlan', node: 'n2', subnet: '10.244.2.0/24', msg: 'route programmed' })]);
  });

  it('drops messages below the configured level', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'warn', pretty: false, destination: stream });
    log.info('hidden');
    log.warn('shown');
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('refuses an unknown level', () => {
    expect(() => createLogger({ level: 'verbose' })).toThrow('unknown log level "verbose"');
  });
});
