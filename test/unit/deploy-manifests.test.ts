// The Kubernetes manifests in deploy/kubernetes: every YAML file parses and says what it is for;
// every object validates against the Kubernetes schemas; and each install — the base read from its
// files, and base, overlays/vxlan and overlays/bgp as rendered by the real `kubectl kustomize` —
// passes our own checks (test/helpers/deploy-manifests.ts: capabilities, probes, RBAC minimality,
// net-conf.json through weft's parser, args through weft's command line).
import { readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseNetConfText } from '../../src/config/netconf.js';
import { describeKernel } from '../helpers/env.js';
import {
  BGP_PASSWORD_SECRET,
  KUBE_DIR,
  REPO_ROOT,
  asKubeObject,
  checkInstall,
  daemonSetOf,
  kustomizationFileObjects,
  kustomizeVersion,
  loadYamlDocuments,
  netConfTextOf,
  readKustomization,
  renderKustomize,
  schemaProblems,
  unknownFields,
  weftContainer,
  yamlFilesUnder,
  type KubeObject,
} from '../helpers/deploy-manifests.js';

const BASE = join(KUBE_DIR, 'base');
const OVERLAYS = { vxlan: join(KUBE_DIR, 'overlays', 'vxlan'), bgp: join(KUBE_DIR, 'overlays', 'bgp') };
const KUSTOMIZATION_DIRS = [BASE, OVERLAYS.vxlan, OVERLAYS.bgp];
const VXLAN_CAPS = ['NET_ADMIN', 'NET_RAW'];
// The BGP speaker listens on TCP 179 in the host namespace: below ip_unprivileged_port_start.
const BGP_CAPS = ['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE'];

const rel = (path: string): string => relative(REPO_ROOT, path);

/** RFC 6901 pointer lookup; undefined when the path does not exist. */
function pointer(document: unknown, path: string): unknown {
  let here: unknown = document;
  for (const raw of path.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(here)) here = key === '-' ? undefined : here[Number(key)];
    else if (here !== null && typeof here === 'object') here = (here as Record<string, unknown>)[key];
    else return undefined;
  }
  return here;
}

describe('deploy/kubernetes files', () => {
  const files = yamlFilesUnder(KUBE_DIR);

  it('has the base and both overlays', () => {
    for (const dir of KUSTOMIZATION_DIRS) expect(statSync(join(dir, 'kustomization.yaml')).isFile(), rel(dir)).toBe(true);
  });

  it.each(files.map((f) => [rel(f), f]))('%s parses as YAML and opens with a comment saying what it is for', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    expect(loadYamlDocuments(text, file).length).toBeGreaterThan(0);
    const header = text.split('\n').filter((l) => l.startsWith('#') && !l.startsWith('#!'));
    expect(text.startsWith('#'), 'first line is a comment').toBe(true);
    expect(header.join(' ').length, 'a header comment of substance').toBeGreaterThan(60);
  });

  it.each(KUSTOMIZATION_DIRS.map((d) => [rel(d), d]))('%s/kustomization.yaml names only files that exist', (_name, dir) => {
    const k = readKustomization(dir);
    for (const r of k.resources ?? []) expect(() => statSync(join(dir, r)), r).not.toThrow();
    for (const p of k.patches ?? []) if (p.path) expect(() => statSync(join(dir, p.path!)), p.path).not.toThrow();
  });

  it('leaves no YAML file unused: each is a kustomization, a resource or a patch of one', () => {
    const used = new Set<string>();
    for (const dir of KUSTOMIZATION_DIRS) {
      used.add(join(dir, 'kustomization.yaml'));
      const k = readKustomization(dir);
      for (const r of k.resources ?? []) used.add(join(dir, r));
      for (const p of k.patches ?? []) if (p.path) used.add(join(dir, p.path));
    }
    expect(files.filter((f) => !used.has(f)).map(rel)).toEqual([]);
  });

  describe.each(KUSTOMIZATION_DIRS.map((d) => [rel(d), d]))('resources of %s', (_name, dir) => {
    let objects: KubeObject[] = [];
    beforeAll(() => {
      objects = kustomizationFileObjects(dir);
    });

    it('have no field a real client does not know', () => {
      for (const o of objects) expect(unknownFields(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    });

    it('validate against the Kubernetes OpenAPI schemas (kubernetes-models)', async () => {
      for (const o of objects) expect(await schemaProblems(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    });
  });

  describe('overlays/bgp patches', () => {
    const k = readKustomization(OVERLAYS.bgp);
    const base = kustomizationFileObjects(BASE);

    it('patch the ConfigMap with a net-conf.json weft accepts, on the same Network as the base', () => {
      const patch = (k.patches ?? []).find((p) => p.path && !p.target);
      expect(patch?.path).toBeDefined();
      const file = join(OVERLAYS.bgp, patch!.path!);
      const [doc] = loadYamlDocuments(readFileSync(file, 'utf8'), file);
      const cm = asKubeObject(doc, rel(file));
      const target = base.find((o) => o.kind === cm.kind && o.metadata.name === cm.metadata.name && o.metadata.namespace === cm.metadata.namespace);
      expect(target, 'the patch targets an object of the base').toBeDefined();
      const data = (cm as { data?: Record<string, string> }).data ?? {};
      const conf = parseNetConfText(data['net-conf.json'] ?? '', { source: rel(file) });
      const baseConf = parseNetConfText(netConfTextOf(base, daemonSetOf(base)).text);
      expect(conf.backend.type).toBe('bgp');
      expect(conf.network).toBe(baseConf.network);
      expect(conf.subnetLen).toBe(baseConf.subnetLen);
    });

    it('patch the DaemonSet with JSON 6902 operations whose `test`s hold on the base', () => {
      const patch = (k.patches ?? []).find((p) => p.target?.kind === 'DaemonSet');
      expect(patch?.path).toBeDefined();
      const file = join(OVERLAYS.bgp, patch!.path!);
      const [ops] = loadYamlDocuments(readFileSync(file, 'utf8'), file) as { op: string; path: string; value?: unknown }[][];
      expect(Array.isArray(ops)).toBe(true);
      const ds = base.find((o) => o.kind === 'DaemonSet');
      const tests = ops!.filter((o) => o.op === 'test');
      expect(tests.some((t) => t.value === '--backend=vxlan'), 'the --backend argument is tested before it is replaced').toBe(true);
      for (const t of tests) expect(pointer(ds, t.path), t.path).toEqual(t.value);
      for (const o of ops!.filter((x) => x.op === 'replace')) expect(pointer(ds, o.path), `${o.path} exists`).toBeDefined();
    });
  });
});

describe('base install, read from its files', () => {
  checkInstall(() => kustomizationFileObjects(BASE), { backend: 'vxlan', capabilities: VXLAN_CAPS });
});

describeKernel('deploy/kubernetes rendered by kubectl kustomize', ['kubectl'], () => {
  it('kubectl embeds kustomize v4 or later (the `patches:` field)', () => {
    const version = kustomizeVersion();
    expect(version, 'kubectl version --client names a Kustomize version').toBeDefined();
    expect(version![0]).toBeGreaterThanOrEqual(4);
  });

  describe('base', () => {
    checkInstall(() => renderKustomize(BASE), { backend: 'vxlan', capabilities: VXLAN_CAPS });
  });

  describe('overlays/vxlan', () => {
    checkInstall(() => renderKustomize(OVERLAYS.vxlan), { backend: 'vxlan', capabilities: VXLAN_CAPS });

    it('is the base, unchanged', () => {
      expect(renderKustomize(OVERLAYS.vxlan)).toEqual(renderKustomize(BASE));
    });
  });

  describe('overlays/bgp', () => {
    checkInstall(() => renderKustomize(OVERLAYS.bgp), { backend: 'bgp', capabilities: BGP_CAPS });

    it('mounts the optional BGP password Secret read-only, and grants no API access to Secrets', () => {
      const objects = renderKustomize(OVERLAYS.bgp);
      const ds = daemonSetOf(objects);
      const volume = (ds.spec.template.spec.volumes ?? []).find((v) => v.secret !== undefined);
      expect(volume?.secret).toEqual({ secretName: BGP_PASSWORD_SECRET, optional: true });
      const mount = (weftContainer(ds).volumeMounts ?? []).find((m) => m.name === volume?.name);
      expect(mount?.readOnly).toBe(true);
      expect(objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toEqual([]);
    });

    it('changes the base only where the backend needs it', () => {
      const base = renderKustomize(BASE);
      const bgp = renderKustomize(OVERLAYS.bgp);
      expect(bgp.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(base.map((o) => `${o.kind}/${o.metadata.name}`));
      for (const [i, o] of bgp.entries()) {
        if (o.kind === 'ConfigMap' || o.kind === 'DaemonSet') continue;
        expect(o, `${o.kind}/${o.metadata.name}`).toEqual(base[i]);
      }
      const argsOf = (objects: KubeObject[]): string[] => weftContainer(daemonSetOf(objects)).args ?? [];
      expect(argsOf(bgp)).toEqual(argsOf(base).map((a) => (a === '--backend=vxlan' ? '--backend=bgp' : a)));
    });
  });
});
