// BFD timer negotiation (RFC 5880 §6.8.2–§6.8.4) and transmit jitter (§6.8.7).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectionTimeUs, jitteredIntervalUs, transmitIntervalUs } from '../../src/bfd/timers.js';

describe('BFD timers', () => {
  it('sends at the slower of our desired TX and the remote required RX', () => {
    expect(transmitIntervalUs(300_000, 500_000)).toBe(500_000);
    expect(transmitIntervalUs(1_000_000, 300_000)).toBe(1_000_000);
  });

  it('sends nothing periodically when the remote requires 0 RX', () => {
    expect(transmitIntervalUs(300_000, 0)).toBe(0);
  });

  it('detects after remote multiplier × max(our required RX, remote desired TX)', () => {
    expect(detectionTimeUs(3, 300_000, 300_000)).toBe(900_000);
    expect(detectionTimeUs(5, 300_000, 1_000_000)).toBe(5_000_000);
    expect(detectionTimeUs(2, 800_000, 100_000)).toBe(1_600_000);
  });

  it('jitters to 75–100 % of the interval', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 10_000_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 2, max: 255 }), (interval, r, mult) => {
        const j = jitteredIntervalUs(interval, mult, r);
        expect(j).toBeGreaterThanOrEqual(Math.floor(interval * 0.75));
        expect(j).toBeLessThanOrEqual(interval);
      }),
    );
  });

  it('jitters to 75–90 % when the detect multiplier is 1', () => {
    expect(jitteredIntervalUs(1_000_000, 1, 0)).toBe(750_000);
    expect(jitteredIntervalUs(1_000_000, 1, 0.999_999)).toBeLessThanOrEqual(900_000);
    expect(jitteredIntervalUs(1_000_000, 3, 0.999_999)).toBeGreaterThan(990_000);
  });
});
