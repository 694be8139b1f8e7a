// Reading and checking weft's Kubernetes manifests (deploy/kubernetes): YAML loading, kustomize
// rendering through the real `kubectl kustomize`, schema validation (kubernetes-models when it is
// installed; @kubernetes/client-node's own models for unknown fields), and `checkInstall`, the
// suite of our own checks that every install variant (base, overlays/vxlan, overlays/bgp) must pass.
//
// Deliberately not here: the Dockerfile checks (test/unit/deploy-dockerfile.test.ts), and any
// Kubernetes API server: nothing is applied anywhere.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpYaml, loadAllYaml } from '@kubernetes/client-node';
import { CommanderError, type Command } from 'commander';
import yaml from 'js-yaml';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { buildProgram, VERSION } from '../../src/cli.js';
import { resolveDaemonConfig, type DaemonConfig } from '../../src/config/daemon-config.js';
import { parseNetConfText, type NetConf } from '../../src/config/netconf.js';
import { buildConflist } from '../../src/cni/conflist.js';
import { DEFAULT_STATUS_SOCKET } from '../../src/daemon/run.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');
export const KUBE_DIR = join(DEPLOY_DIR, 'kubernetes');

export const NAMESPACE = 'kube-weft';
export const BGP_PASSWORD_SECRET = 'weft-bgp-passwords';
/** Node name the downward API would give; used to resolve the daemon's config. */
export const SAMPLE_NODE = 'node-a.example';

// ---------------------------------------------------------------------------------------------
// Loading

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const kubeObjectShape = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
});

/** Every *.yaml / *.yml under `dir`, recursively, sorted. */
export function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(entry)) out.push(path);
  }
  return out;
}

/** All documents of a YAML stream (empty documents dropped). Throws on a syntax error. */
export function loadYamlDocuments(text: string, filename: string): unknown[] {
  return yaml.loadAll(text, undefined, { filename }).filter((d) => d !== null && d !== undefined);
}

export function asKubeObject(document: unknown, where: string): KubeObject {
  const parsed = kubeObjectShape.safeParse(document);
  if (!parsed.success) throw new Error(`${where}: not a Kubernetes object (${parsed.error.issues[0]?.message ?? '?'})`);
  return parsed.data;
}

const kustomizationShape = z.looseObject({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  resources: z.array(z.string()).optional(),
  patches: z.array(z.looseObject({ path: z.string().optional(), patch: z.string().optional(), target: z.record(z.string(), z.string()).optional() })).optional(),
});
export type Kustomization = z.infer<typeof kustomizationShape>;

export function readKustomization(dir: string): Kustomization {
  const path = join(dir, 'kustomization.yaml');
  const [doc] = loadYamlDocuments(readFileSync(path, 'utf8'), path);
  return kustomizationShape.parse(doc);
}

/** The objects of a kustomization's own resource files (directories are other kustomizations). */
export function kustomizationFileObjects(dir: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const resource of readKustomization(dir).resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) continue;
    for (const doc of loadYamlDocuments(readFileSync(path, 'utf8'), path)) out.push(asKubeObject(doc, relative(REPO_ROOT, path)));
  }
  return out;
}

/** `kubectl kustomize DIR`, parsed. */
export function renderKustomize(dir: string): KubeObject[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return loadYamlDocuments(text, `kubectl kustomize ${relative(REPO_ROOT, dir)}`).map((d, i) => asKubeObject(d, `${dir} #${i}`));
}

/** Kustomize major.minor of the kubectl on PATH, or undefined when it does not say. */
export function kustomizeVersion(): [number, number] | undefined {
  const text = execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = /Kustomize Version:\s*v?(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Schema validation

/** The model classes of `kubernetes-models`, as far as we use them. */
type ModelModule = Record<string, unknown>;
type ModelClass = new (data: unknown) => { validate(): void };

function importModels(apiVersion: string): Promise<ModelModule> {
  // A variable specifier: one import per apiVersion (apps/v1, rbac.authorization.k8s.io/v1, …).
  const specifier = `kubernetes-models/${apiVersion}`;
  return import(specifier) as Promise<ModelModule>;
}

/**
 * Validates one object against the Kubernetes OpenAPI schema as compiled by kubernetes-models
 * (types, required fields, formats). Returns the problems, empty when valid.
 */
export async function schemaProblems(object: KubeObject): Promise<string[]> {
  let module: ModelModule;
  try {
    module = await importModels(object.apiVersion);
  } catch (error) {
    return [`no schema for apiVersion ${object.apiVersion} (${(error as Error).message})`];
  }
  const Model = module[object.kind] as ModelClass | undefined;
  if (typeof Model !== 'function') return [`no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * Fields a real client does not know: the object goes through @kubernetes/client-node's typed
 * models (deserialize → serialize), which drop every property not in the Kubernetes API, and the
 * result is compared with the original. The OpenAPI schemas allow unknown properties, so this is
 * what catches a misspelt `tolerations` or `readOnly`.
 */
export function unknownFields(object: KubeObject): string[] {
  const [typed] = loadAllYaml(yaml.dump(object)) as unknown[];
  const roundTrip = yaml.load(dumpYaml(typed));
  const missing: string[] = [];
  const walk = (original: unknown, kept: unknown, path: string): void => {
    if (Array.isArray(original)) {
      const list = Array.isArray(kept) ? (kept as unknown[]) : [];
      original.forEach((item, i) => walk(item, list[i], `${path}[${i}]`));
    } else if (original !== null && typeof original === 'object') {
      const keptObject = kept !== null && typeof kept === 'object' ? (kept as Record<string, unknown>) : {};
      for (const [key, value] of Object.entries(original as Record<string, unknown>)) {
        if (!(key in keptObject)) missing.push(`${path}.${key}`);
        else walk(value, keptObject[key], `${path}.${key}`);
      }
    }
  };
  walk(object, roundTrip, `${object.kind}/${object.metadata.name}`);
  return missing;
}

// ---------------------------------------------------------------------------------------------
// Typed views of the objects we check (zod: parse once, then trust the types)

const quantities = z.record(z.string(), z.union([z.string(), z.number()]));
const probeShape = z.object({
  httpGet: z.object({ host: z.string().optional(), path: z.string(), port: z.union([z.number(), z.string()]) }),
});
const containerShape = z.object({
  name: z.string(),
  image: z.string(),
  imagePullPolicy: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z
    .array(
      z.object({
        name: z.string(),
        value: z.string().optional(),
        valueFrom: z.object({ fieldRef: z.object({ fieldPath: z.string() }).optional() }).optional(),
      }),
    )
    .optional(),
  ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number(), protocol: z.string().optional() })).optional(),
  securityContext: z
    .object({
      privileged: z.boolean().optional(),
      allowPrivilegeEscalation: z.boolean().optional(),
      readOnlyRootFilesystem: z.boolean().optional(),
      runAsUser: z.number().optional(),
      capabilities: z.object({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() }).optional(),
    })
    .optional(),
  readinessProbe: probeShape.optional(),
  livenessProbe: probeShape.optional(),
  resources: z.object({ requests: quantities.optional(), limits: quantities.optional() }).optional(),
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().optional() })).optional(),
});
export type Container = z.infer<typeof containerShape>;

const volumeShape = z.object({
  name: z.string(),
  hostPath: z.object({ path: z.string(), type: z.string().optional() }).optional(),
  configMap: z.object({ name: z.string(), items: z.array(z.object({ key: z.string(), path: z.string() })).optional() }).optional(),
  secret: z.object({ secretName: z.string(), optional: z.boolean().optional() }).optional(),
});
type Volume = z.infer<typeof volumeShape>;

const daemonSetShape = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
  spec: z.object({
    updateStrategy: z.object({ type: z.string(), rollingUpdate: z.object({ maxUnavailable: z.union([z.number(), z.string()]).optional() }).optional() }).optional(),
    template: z.object({
      spec: z.object({
        serviceAccountName: z.string().optional(),
        hostNetwork: z.boolean().optional(),
        priorityClassName: z.string().optional(),
        tolerations: z.array(z.object({ key: z.string().optional(), operator: z.string().optional(), value: z.string().optional(), effect: z.string().optional() })).optional(),
        initContainers: z.array(containerShape).optional(),
        containers: z.array(containerShape),
        volumes: z.array(volumeShape).optional(),
      }),
    }),
  }),
});
export type DaemonSet = z.infer<typeof daemonSetShape>;

const ruleShape = z.object({
  apiGroups: z.array(z.string()).optional(),
  resources: z.array(z.string()).optional(),
  resourceNames: z.array(z.string()).optional(),
  nonResourceURLs: z.array(z.string()).optional(),
  verbs: z.array(z.string()),
});
const roleShape = z.object({ metadata: z.object({ name: z.string(), namespace: z.string().optional() }), rules: z.array(ruleShape).optional() });
const bindingShape = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
  roleRef: z.object({ apiGroup: z.string(), kind: z.string(), name: z.string() }),
  subjects: z.array(z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional() })).optional(),
});
const configMapShape = z.object({ metadata: z.object({ name: z.string() }), data: z.record(z.string(), z.string()).optional() });

function only(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export function daemonSetOf(objects: KubeObject[]): DaemonSet {
  return daemonSetShape.parse(only(objects, 'DaemonSet', 'weft'));
}

export function weftContainer(ds: DaemonSet): Container {
  const c = ds.spec.template.spec.containers.find((x) => x.name === 'weft');
  if (!c) throw new Error('DaemonSet has no container "weft"');
  return c;
}

/** The text of net-conf.json in the ConfigMap the DaemonSet mounts. */
export function netConfTextOf(objects: KubeObject[], ds: DaemonSet): { text: string; mountDir: string; file: string } {
  const volume = (ds.spec.template.spec.volumes ?? []).find((v) => v.configMap !== undefined);
  if (!volume?.configMap) throw new Error('DaemonSet mounts no ConfigMap');
  const cm = configMapShape.parse(only(objects, 'ConfigMap', volume.configMap.name));
  const item = volume.configMap.items?.find((i) => i.key === 'net-conf.json') ?? { key: 'net-conf.json', path: 'net-conf.json' };
  const text = cm.data?.[item.key];
  if (text === undefined) throw new Error(`ConfigMap ${volume.configMap.name} has no ${item.key}`);
  const mount = (weftContainer(ds).volumeMounts ?? []).find((m) => m.name === volume.name);
  if (!mount) throw new Error(`container weft does not mount volume ${volume.name}`);
  return { text, mountDir: mount.mountPath, file: posix.join(mount.mountPath, item.path) };
}

// ---------------------------------------------------------------------------------------------
// The daemon's own command line, applied to the manifest's args and env

export interface ParsedDaemonArgs {
  config: DaemonConfig;
  /** Every option value commander produced, flags and globals (statusSocket, logFormat…). */
  opts: Record<string, unknown>;
}

/**
 * Parses `args` (the container's args after the image's `node bin/weft.js` entrypoint) with weft's
 * real commander program, then resolves the daemon config from those flags and `env`, reading
 * files through `files`. Throws commander's error for an unknown flag or a bad choice, and
 * ConfigError for a bad value.
 */
export function parseDaemonArgs(args: string[], env: Record<string, string>, files: Record<string, string>): ParsedDaemonArgs {
  const program = buildProgram();
  let captured: Record<string, unknown> | undefined;
  const silence = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    cmd.commands.forEach(silence);
  };
  silence(program);
  const daemon = program.commands.find((c) => c.name() === 'daemon');
  if (!daemon) throw new Error('weft has no daemon subcommand');
  daemon.action((_opts: unknown, cmd: Command) => {
    captured = cmd.optsWithGlobals();
  });
  // Global options with .env() read process.env; keep the test's own environment out of it.
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('WEFT_')) delete process.env[key];
  Object.assign(process.env, env);
  try {
    program.parse(['node', 'weft', ...args]);
  } catch (error) {
    if (error instanceof CommanderError) throw new Error(`weft ${args.join(' ')}: ${error.message}`);
    throw error;
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  if (!captured) throw new Error(`weft ${args.join(' ')}: did not run the daemon subcommand`);
  const readFile = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
  return { config: resolveDaemonConfig(captured, env, readFile, { hostname: 'unused-hostname' }), opts: captured };
}

/** The container's environment as the kubelet would set it (downward API filled in). */
export function containerEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[e.name] = SAMPLE_NODE;
    else throw new Error(`env ${e.name}: no value this test knows how to fill in`);
  }
  return env;
}

/** The names of the environment variables weft's program and daemon subcommand read. */
export function weftEnvNames(): Set<string> {
  const names = new Set<string>();
  const visit = (cmd: Command): void => {
    for (const option of cmd.options) {
      if (option.envVar) names.add(option.envVar);
      for (const m of option.description.matchAll(/\[env (WEFT_[A-Z0-9_]+)\]/g)) names.add(m[1]!);
    }
  };
  const program = buildProgram();
  visit(program);
  const daemon = program.commands.find((c) => c.name() === 'daemon');
  if (daemon) visit(daemon);
  return names;
}

// ---------------------------------------------------------------------------------------------
// RBAC: what src/registry/kube.ts calls, and the permission each call needs

/** client-node CoreV1Api methods → the (resource, verb) they need. */
const API_CALL_PERMISSIONS: Record<string, string> = {
  readNode: 'nodes get',
  listNode: 'nodes list',
  patchNode: 'nodes patch',
  patchNodeStatus: 'nodes/status patch',
};

/**
 * The permissions the Kubernetes registry needs, read from its source so RBAC follows the code:
 * a new API call there without an entry above fails the test instead of failing in a cluster.
 */
export function permissionsUsedByKubeRegistry(): { needed: Set<string>; unknownCalls: string[] } {
  const source = readFileSync(join(REPO_ROOT, 'src', 'registry', 'kube.ts'), 'utf8');
  const needed = new Set<string>();
  const unknownCalls: string[] = [];
  for (const m of source.matchAll(/this\.api\.([A-Za-z]+)\(/g)) {
    const permission = API_CALL_PERMISSIONS[m[1]!];
    if (permission) needed.add(permission);
    else unknownCalls.push(m[1]!);
  }
  for (const m of source.matchAll(/\.watch\(\s*'\/api\/v1\/([a-z]+)'/g)) needed.add(`${m[1]!} watch`);
  return { needed, unknownCalls };
}

/** Every (apiGroup, resource, verb) a set of rules grants, as "group:resource verb". */
function grants(rules: z.infer<typeof ruleShape>[]): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) for (const resource of rule.resources ?? []) for (const verb of rule.verbs) out.push(`${group}:${resource} ${verb}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The checks every install variant must pass

export interface InstallExpectation {
  backend: 'vxlan' | 'bgp';
  /** Capabilities added to the weft container, exactly. */
  capabilities: string[];
}

const ALLOWED_HOST_PATHS = new Set(['/run/weft', '/etc/cni/net.d', '/opt/cni/bin', '/var/lib/cni']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const WILDCARD = new Set(['0.0.0.0', '::', '']);

function mountedHostPath(ds: DaemonSet, container: Container, path: string): { volume: Volume; mountPath: string; readOnly: boolean } | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const volume = (ds.spec.template.spec.volumes ?? []).find((v) => v.name === mount.name);
    if (!volume?.hostPath) continue;
    // `path` is inside this mount?
    if (path === mount.mountPath || path.startsWith(`${mount.mountPath}/`)) {
      return { volume, mountPath: mount.mountPath, readOnly: mount.readOnly ?? false };
    }
  }
  return undefined;
}

/**
 * Registers the checks for one install (a list of objects, loaded lazily so a missing kubectl
 * fails the test, not the collection). Call inside a `describe`.
 */
export function checkInstall(load: () => KubeObject[], expected: InstallExpectation): void {
  let cache: KubeObject[] | undefined;
  const objects = (): KubeObject[] => (cache ??= load());
  const ds = (): DaemonSet => daemonSetOf(objects());

  it('has the namespace, service account, RBAC, ConfigMap and DaemonSet, all namespaced ones in kube-weft', () => {
    const all = objects();
    expect(only(all, 'Namespace', NAMESPACE)).toBeDefined();
    for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet']) expect(all.filter((o) => o.kind === kind)).toHaveLength(1);
    for (const o of all) {
      if (['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(NAMESPACE);
    }
  });

  it('validates against the Kubernetes OpenAPI schemas (kubernetes-models)', async () => {
    for (const o of objects()) expect(await schemaProblems(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
  });

  it('validates against the Kubernetes schemas of a real client: no unknown field anywhere', () => {
    for (const o of objects()) expect(unknownFields(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
  });

  it('grants exactly what src/registry/kube.ts uses: no wildcard, no verb or resource beyond it', () => {
    const all = objects();
    const { needed, unknownCalls } = permissionsUsedByKubeRegistry();
    expect(unknownCalls, 'API calls in kube.ts without a known permission (add them to API_CALL_PERMISSIONS and RBAC)').toEqual([]);
    expect(needed.size).toBeGreaterThan(0);

    const clusterRole = roleShape.parse(only(all, 'ClusterRole'));
    for (const rule of clusterRole.rules ?? []) {
      const fields = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs, ...(rule.resourceNames ?? [])];
      expect(fields.some((f) => f.includes('*')), `wildcard in ${JSON.stringify(rule)}`).toBe(false);
      expect(rule.nonResourceURLs, 'nonResourceURLs').toBeUndefined();
    }
    const granted = grants(clusterRole.rules ?? []);
    expect(new Set(granted).size, 'duplicate grants').toBe(granted.length);
    expect(new Set(granted)).toEqual(new Set([...needed].map((p) => `:${p}`)));

    // Namespaced Roles: at most `get` on the one named BGP password Secret.
    for (const o of all.filter((x) => x.kind === 'Role')) {
      const role = roleShape.parse(o);
      expect(role.metadata.namespace).toBe(NAMESPACE);
      for (const rule of role.rules ?? []) {
        expect(rule).toEqual({ apiGroups: [''], resources: ['secrets'], resourceNames: [BGP_PASSWORD_SECRET], verbs: ['get'] });
      }
    }

    // Bindings: only to our roles, only for our service account, which is the DaemonSet's.
    const serviceAccount = only(all, 'ServiceAccount');
    expect(ds().spec.template.spec.serviceAccountName).toBe(serviceAccount.metadata.name);
    for (const o of all.filter((x) => x.kind === 'ClusterRoleBinding' || x.kind === 'RoleBinding')) {
      const binding = bindingShape.parse(o);
      const roleKind = o.kind === 'ClusterRoleBinding' ? 'ClusterRole' : 'Role';
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: only(all, roleKind, binding.roleRef.name).metadata.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: NAMESPACE }]);
    }
  });

  it(`has a net-conf.json that weft's own parser accepts, Backend.Type ${expected.backend}`, () => {
    const { text } = netConfTextOf(objects(), ds());
    const conf: NetConf = parseNetConfText(text, { source: 'ConfigMap net-conf.json' });
    expect(conf.network).toBe('10.244.0.0/16');
    expect(conf.backend.type).toBe(expected.backend);
  });

  it('runs on every node: host network, system-node-critical, tolerates every taint, rolling one node at a time', () => {
    const spec = ds().spec;
    expect(spec.template.spec.hostNetwork).toBe(true);
    expect(spec.template.spec.priorityClassName).toBe('system-node-critical');
    // An Exists toleration with no key and no effect matches every taint.
    expect(spec.template.spec.tolerations).toContainEqual({ operator: 'Exists' });
    expect(spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
  });

  it(`adds exactly ${expected.capabilities.join('+')} and is never privileged`, () => {
    const spec = ds().spec.template.spec;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const sc = c.securityContext;
      expect(sc?.privileged ?? false, `${c.name} privileged`).toBe(false);
      expect(sc?.allowPrivilegeEscalation, `${c.name} allowPrivilegeEscalation`).toBe(false);
      expect(sc?.readOnlyRootFilesystem, `${c.name} readOnlyRootFilesystem`).toBe(true);
      expect(sc?.capabilities?.drop, `${c.name} drops`).toEqual(['ALL']);
      const added = [...(sc?.capabilities?.add ?? [])].sort();
      expect(added, `${c.name} adds`).toEqual(c.name === 'weft' ? [...expected.capabilities].sort() : []);
    }
  });

  it("passes args and env that weft's own command line accepts, with the expected backend and registry", () => {
    const all = objects();
    const d = ds();
    const container = weftContainer(d);
    const env = containerEnv(container);
    const known = weftEnvNames();
    for (const name of Object.keys(env)) if (name.startsWith('WEFT_')) expect(known, `env ${name} is no weft variable`).toContain(name);
    const netConf = netConfTextOf(all, d);
    const { config, opts } = parseDaemonArgs(container.args ?? [], env, { [netConf.file]: netConf.text });
    expect(config.registry).toBe('kube');
    expect(config.backendOverride).toBe(expected.backend);
    expect(config.netConf?.backend.type).toBe(expected.backend);
    expect(config.nodeName).toBe(SAMPLE_NODE);
    expect(config.kubeAnnotationPrefix).toBe('weft.io/');

    // What the daemon writes lands on the host, in the directories the runtime and CLI read.
    expect(mountedHostPath(d, container, config.subnetFile)?.volume.hostPath?.path).toBe('/run/weft');
    const cniConf = mountedHostPath(d, container, config.cniConfDir);
    expect(cniConf?.volume.hostPath?.path).toBe('/etc/cni/net.d');
    expect(cniConf?.mountPath).toBe(config.cniConfDir);
    expect(cniConf?.readOnly).toBe(false);
    const statusSocket = (opts.statusSocket as string | undefined) ?? DEFAULT_STATUS_SOCKET;
    expect(mountedHostPath(d, container, statusSocket)?.volume.hostPath?.path).toBe('/run/weft');
  });

  it('probes /readyz and /healthz where --health-addr listens', () => {
    const all = objects();
    const d = ds();
    const container = weftContainer(d);
    const netConf = netConfTextOf(all, d);
    const { config } = parseDaemonArgs(container.args ?? [], containerEnv(container), { [netConf.file]: netConf.text });
    const probes = { readinessProbe: '/readyz', livenessProbe: '/healthz' } as const;
    for (const [field, path] of Object.entries(probes) as [keyof typeof probes, string][]) {
      const get = container[field]?.httpGet;
      expect(get, field).toBeDefined();
      expect(get?.path, field).toBe(path);
      expect(get?.port, field).toBe(config.healthAddr.port);
      // The kubelet probes a hostNetwork pod at the node's IP unless `host` says otherwise.
      if (LOOPBACK.has(config.healthAddr.host)) expect(LOOPBACK.has(get?.host ?? ''), `${field} host must be loopback`).toBe(true);
      else if (!WILDCARD.has(config.healthAddr.host)) expect(get?.host, field).toBe(config.healthAddr.host);
    }
  });

  it('mounts /run/weft, /etc/cni/net.d and /opt/cni/bin from the host, and no other host path beyond /var/lib/cni (read-only)', () => {
    const d = ds();
    const container = weftContainer(d);
    const hostPaths = (d.spec.template.spec.volumes ?? []).flatMap((v) => (v.hostPath ? [v.hostPath.path] : []));
    for (const p of hostPaths) expect(ALLOWED_HOST_PATHS, `hostPath ${p}`).toContain(p);
    expect(hostPaths).not.toContain('/run/xtables.lock'); // weft uses nftables only
    for (const p of ['/run/weft', '/etc/cni/net.d', '/opt/cni/bin']) expect(mountedHostPath(d, container, p)?.volume.hostPath?.path, p).toBe(p);
    expect(mountedHostPath(d, container, '/opt/cni/bin')?.readOnly).toBe(true);
    expect(mountedHostPath(d, container, '/var/lib/cni')?.readOnly ?? true).toBe(true);
  });

  it('installs, in an init container, every CNI plugin the conflist names (and loopback) from the image into the host /opt/cni/bin', () => {
    const d = ds();
    const init = (d.spec.template.spec.initContainers ?? []).find((c) => c.name === 'install-cni-plugins');
    expect(init).toBeDefined();
    const script = [...(init?.command ?? []), ...(init?.args ?? [])].join(' ');
    const conflist = buildConflist({ subnet: '10.244.1.0/24', mtu: 1450 });
    const types = conflist.plugins.map((p) => String(p.type));
    const ipam = conflist.plugins.flatMap((p) => (typeof p.ipam === 'object' && p.ipam !== null ? [String((p.ipam as { type: unknown }).type)] : []));
    const listed = /for plugin in ([a-z0-9 -]+);/.exec(script)?.[1]?.split(' ') ?? [];
    expect(new Set(listed)).toEqual(new Set([...types, ...ipam, 'loopback']));
    expect(script).toContain('/opt/cni/bin-src/');
    expect(script).toMatch(/\[ -x "[^"]*\$plugin" \]/); // only when missing
    const target = /"(\/[^"$]+)\/\$plugin"/.exec(script)?.[1];
    expect(target).toBeDefined();
    expect(mountedHostPath(d, init!, target!)?.volume.hostPath?.path).toBe('/opt/cni/bin');
  });

  it(`runs the weft:${VERSION} image everywhere (no latest), with requests and limits on every container`, () => {
    const spec = ds().spec.template.spec;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      expect(c.image, c.name).toBe(`weft:${VERSION}`);
      expect(c.imagePullPolicy, c.name).toBe('IfNotPresent');
      expect(Object.keys(c.resources?.requests ?? {}).sort(), `${c.name} requests`).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources?.limits ?? {}), `${c.name} limits`).toContain('memory');
    }
  });
}
