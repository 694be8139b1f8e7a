// The test API server's PATCH dialects (src/testing/kube-patch.ts): RFC 7386 merge patch with the
// RFC's own examples, RFC 6902 JSON patch operations and errors, and strategic merge patch with the
// Node type's list strategies. kubectl exercises them end to end in test/kernel/registry-kube.test.ts;
// these pin the corner cases kubectl rarely sends.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, deepEqual, PatchError, type Json } from '../../src/testing/kube-patch.js';

describe('JSON merge patch (RFC 7386)', () => {
  // RFC 7386 Appendix A, a selection.
  const cases: [Json, Json, Json][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(cases)('%j + %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('is idempotent and never mutates its inputs', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, p) => {
        const target = a as Json;
        const patch = p as Json;
        const before = JSON.stringify([target, patch]);
        const once = applyMergePatch(target, patch);
        expect(deepEqual(applyMergePatch(once, patch), once)).toBe(true);
        expect(JSON.stringify([target, patch])).toBe(before);
      }),
    );
  });
});

describe('JSON patch (RFC 6902)', () => {
  const doc: Json = { metadata: { annotations: { 'weft.io/x': '1' } }, list: [1, 2, 3] };

  it('add, replace, remove, move, copy and test', () => {
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/metadata/annotations/a~1b', value: 'slash' },
      { op: 'replace', path: '/metadata/annotations/weft.io~1x', value: '2' },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'add', path: '/list/0', value: 0 },
      { op: 'remove', path: '/list/1' },
      { op: 'copy', from: '/list/0', path: '/first' },
      { op: 'move', from: '/first', path: '/moved' },
      { op: 'test', path: '/moved', value: 0 },
    ]);
    expect(out).toEqual({ metadata: { annotations: { 'weft.io/x': '2', 'a/b': 'slash' } }, list: [0, 2, 3, 4], moved: 0 });
    expect(doc).toEqual({ metadata: { annotations: { 'weft.io/x': '1' } }, list: [1, 2, 3] });
  });

  it('fails as the API does: missing paths and failed tests are 422, malformed operations 400', () => {
    const code = (patch: Json): number | undefined => {
      try {
        applyJsonPatch(doc, patch);
        return undefined;
      } catch (error) {
        return error instanceof PatchError ? error.code : -1;
      }
    };
    expect(code([{ op: 'replace', path: '/metadata/labels', value: {} }])).toBe(422);
    expect(code([{ op: 'remove', path: '/list/3' }])).toBe(422);
    expect(code([{ op: 'test', path: '/list/0', value: 9 }])).toBe(422);
    expect(code([{ op: 'frobnicate', path: '/a' }])).toBe(400);
    expect(code({ op: 'add' })).toBe(400);
  });
});

describe('strategic merge patch (Node list strategies)', () => {
  const node: Json = {
    metadata: { finalizers: ['a'], labels: { x: '1' } },
    spec: { podCIDRs: ['10.244.1.0/24'], taints: [{ key: 't', effect: 'NoSchedule' }] },
    status: {
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady' },
        { type: 'MemoryPressure', status: 'False' },
      ],
    },
  };

  it('merges conditions by type, keeping the others', () => {
    const out = applyStrategicMergePatch(node, {
      status: { conditions: [{ type: 'NetworkUnavailable', status: 'False' }, { type: 'Ready', status: 'False' }] },
    });
    expect((out as { status: { conditions: Json[] } }).status.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'KubeletReady' },
      { type: 'MemoryPressure', status: 'False' },
      { type: 'NetworkUnavailable', status: 'False' },
    ]);
  });

  it('honours $patch delete/replace in lists and maps, and $deleteFromPrimitiveList', () => {
    const out = applyStrategicMergePatch(node, {
      metadata: { labels: { $patch: 'replace', y: '2' } },
      status: { conditions: [{ type: 'MemoryPressure', $patch: 'delete' }] },
      spec: { podCIDRs: ['fd00:10:244:1::/64'], taints: [{ key: 'u' }] },
    }) as { metadata: Json; spec: Json; status: { conditions: Json[] } };
    expect(out.metadata).toEqual({ finalizers: ['a'], labels: { y: '2' } });
    // podCIDRs merge as a primitive list; taints have no strategy and are replaced.
    expect(out.spec).toEqual({ podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'], taints: [{ key: 'u' }] });
    expect(out.status.conditions.map((c) => (c as { type: string }).type)).toEqual(['Ready']);

    const trimmed = applyStrategicMergePatch(node, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }) as { metadata: Json };
    expect(trimmed.metadata).toEqual({ finalizers: [], labels: { x: '1' } });
    const replaced = applyStrategicMergePatch(node, { status: { conditions: [{ $patch: 'replace' }, { type: 'Ready', status: 'Unknown' }] } }) as {
      status: { conditions: Json[] };
    };
    expect(replaced.status.conditions).toEqual([{ type: 'Ready', status: 'Unknown' }]);
    const removed = applyStrategicMergePatch(node, { metadata: { labels: { $patch: 'delete' } } }) as { metadata: Json };
    expect(removed.metadata).toEqual({ finalizers: ['a'] });
  });

  it('rejects keyed-list elements without their merge key', () => {
    expect(() => applyStrategicMergePatch(node, { status: { conditions: [{ status: 'True' }] } })).toThrow(PatchError);
  });

  it('is idempotent on null-free patches', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean());
    const patchArb = fc.record(
      {
        metadata: fc.record({ labels: fc.dictionary(fc.string({ minLength: 1 }), fc.string()) }),
        status: fc.record({ conditions: fc.array(fc.record({ type: fc.constantFrom('Ready', 'A', 'B'), status: leaf }), { maxLength: 3 }) }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(patchArb, (p) => {
        const patch = p as unknown as Json;
        const once = applyStrategicMergePatch(node, patch);
        expect(applyStrategicMergePatch(once, patch)).toEqual(once);
      }),
    );
  });
});
