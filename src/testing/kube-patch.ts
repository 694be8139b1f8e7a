// The three PATCH dialects of the Kubernetes API, as the test API server (kube-apiserver.ts)
// applies them to Node objects: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic
// merge patch. Strategic merge is only as deep as Nodes need: the merge keys and list strategies
// of the Node type (status.conditions and status.addresses by "type", podCIDRs and finalizers as
// merged primitive lists, ownerReferences by uid) and the `$patch` / `$deleteFromPrimitiveList` /
// `$setElementOrder` / `$retainKeys` directives. It is not a general SMP engine for other kinds.

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** A patch that cannot be applied; the server answers with `code` (400, 409, 422) and `reason`. */
export class PatchError extends Error {
  constructor(
    readonly code: 400 | 409 | 422,
    readonly reason: 'BadRequest' | 'Conflict' | 'Invalid',
    message: string,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets a key as an own property, so a "__proto__" key from JSON stays data, never a prototype. */
function setKey(target: JsonObject, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// RFC 7386 JSON merge patch

export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setKey(result, key, applyMergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// RFC 6902 JSON patch

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(422, 'Invalid', `invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(array: Json[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return array.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(422, 'Invalid', `invalid array index "${token}"`);
  const index = Number(token);
  if (index > array.length || (!forInsert && index === array.length)) {
    throw new PatchError(422, 'Invalid', `array index ${index} out of range`);
  }
  return index;
}

/** The container holding the pointed-to location, and the last token. */
function locate(doc: Json, tokens: string[]): { parent: Json; last: string } {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, false)]!;
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token]!;
    else throw new PatchError(422, 'Invalid', `path segment "${token}" does not exist`);
  }
  return { parent: current, last: tokens[tokens.length - 1]! };
}

function getAt(doc: Json, pointer: string): Json {
  let current = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, false)]!;
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token]!;
    else throw new PatchError(422, 'Invalid', `path "${pointer}" does not exist`);
  }
  return current;
}

function removeAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError(422, 'Invalid', 'cannot remove the whole document');
  const { parent, last } = locate(doc, tokens);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const old = parent[last]!;
    delete parent[last];
    return old;
  }
  throw new PatchError(422, 'Invalid', `path "${pointer}" does not exist`);
}

function addAt(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = locate(doc, tokens);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, !replace);
    parent.splice(index, replace ? 1 : 0, value);
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw new PatchError(422, 'Invalid', `path "${pointer}" does not exist`);
    setKey(parent, last, value);
  } else {
    throw new PatchError(422, 'Invalid', `path "${pointer}" is not inside an object or array`);
  }
  return doc;
}

export function applyJsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw new PatchError(400, 'BadRequest', 'json patch must be an array of operations');
  let doc = clone(target);
  for (const operation of patch) {
    if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw new PatchError(400, 'BadRequest', `invalid json patch operation ${JSON.stringify(operation)}`);
    }
    const { op, path } = operation;
    const from = typeof operation.from === 'string' ? operation.from : undefined;
    switch (op) {
      case 'add':
        doc = addAt(doc, path, clone(operation.value ?? null), false);
        break;
      case 'replace':
        doc = addAt(doc, path, clone(operation.value ?? null), true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'move': {
        if (from === undefined) throw new PatchError(400, 'BadRequest', 'move without "from"');
        const value = removeAt(doc, from);
        doc = addAt(doc, path, value, false);
        break;
      }
      case 'copy': {
        if (from === undefined) throw new PatchError(400, 'BadRequest', 'copy without "from"');
        doc = addAt(doc, path, clone(getAt(doc, from)), false);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, path), operation.value ?? null)) {
          throw new PatchError(422, 'Invalid', `test operation failed at "${path}"`);
        }
        break;
      default:
        throw new PatchError(400, 'BadRequest', `unknown json patch operation "${op}"`);
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch, with the Node type's list strategies

type ListStrategy = { mergeKey: string } | 'primitive-merge';

/** patchStrategy/patchMergeKey of core/v1 Node fields (k8s.io/api/core/v1/types.go). */
const NODE_LIST_STRATEGIES: Record<string, ListStrategy> = {
  'metadata.ownerReferences': { mergeKey: 'uid' },
  'metadata.finalizers': 'primitive-merge',
  'spec.podCIDRs': 'primitive-merge',
  'status.conditions': { mergeKey: 'type' },
  'status.addresses': { mergeKey: 'type' },
};

function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function mergeKeyedList(original: Json[], patch: Json[], mergeKey: string, path: string): Json[] {
  // A {"$patch": "replace"} element means: the list is exactly the other elements.
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map((item) => clone(item));
  }
  const result = original.map((item) => clone(item));
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(400, 'BadRequest', `${path}: list element is not an object`);
    const key = item[mergeKey];
    if (key === undefined) throw new PatchError(400, 'BadRequest', `${path}: element has no merge key "${mergeKey}"`);
    const index = result.findIndex((existing) => isObject(existing) && deepEqual(existing[mergeKey], key));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = applyStrategicMergePatch(result[index], item, path);
    } else {
      result.push(applyStrategicMergePatch(undefined, item, path));
    }
  }
  return result;
}

function mergePrimitiveList(original: Json[], patch: Json[]): Json[] {
  const result = original.map((item) => clone(item));
  for (const item of patch) if (!result.some((existing) => deepEqual(existing, item))) result.push(clone(item));
  return result;
}

/**
 * Applies a strategic merge patch to a Node (or part of one, at `path`). Lists without a strategy
 * are replaced, as for any field without a patchStrategy tag.
 */
export function applyStrategicMergePatch(target: Json | undefined, patch: Json, path = ''): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const replaced = clone(patch);
    delete replaced.$patch;
    return replaced;
  }
  const result: JsonObject = isObject(target) ? clone(target) : {};
  // Directives first: they name lists that the plain keys below may also touch.
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const existing = result[field];
      if (Array.isArray(existing) && Array.isArray(value)) {
        setKey(result, field, existing.filter((item) => !value.some((gone) => deepEqual(gone, item))));
      }
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue; // $patch, $retainKeys, $setElementOrder/…: order and pruning hints
    const fieldPath = joinPath(path, key);
    // null, or a map carrying {"$patch": "delete"}, removes the field.
    if (value === null || (isObject(value) && value.$patch === 'delete')) {
      delete result[key];
      continue;
    }
    const strategy = NODE_LIST_STRATEGIES[fieldPath];
    const existing = Object.hasOwn(result, key) ? result[key] : undefined;
    if (Array.isArray(value) && strategy !== undefined) {
      const base = Array.isArray(existing) ? existing : [];
      setKey(result, key, strategy === 'primitive-merge' ? mergePrimitiveList(base, value) : mergeKeyedList(base, value, strategy.mergeKey, fieldPath));
    } else if (isObject(value)) {
      setKey(result, key, applyStrategicMergePatch(existing, value, fieldPath));
    } else {
      setKey(result, key, clone(value));
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.filter((k): k is string => typeof k === 'string'));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}
