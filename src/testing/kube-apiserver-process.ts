// The in-repo Kubernetes API test server (kube-apiserver.ts) as a process of its own, so the lab
// can run it inside its underlay namespace where every node's daemon reaches it over the underlay
// (`weft lab up --registry kube`, the fault tests). The API is served on --host:--port; the test
// controls a real cluster has no API for (add or delete a Node as the controller-manager would,
// drop every watch, answer the next watches 410, compact, go silent, fail requests) are served as
// small JSON requests on a Unix socket (--control), which a test reaches from any namespace.
//
//   node kube-apiserver-process.js --host 192.0.2.1 --port 6443 --dir RUN --control RUN/kube.ctl
//
// Deliberately not: a general admin API, authentication of the control socket (it lives in a
// root-only run directory), persistence (a restarted server starts empty, like a fresh cluster).
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { startKubeApiServer, type TestNodeSpec } from './kube-apiserver.js';

/** What GET /state on the control socket answers. */
export interface KubeControlState {
  url: string;
  resourceVersion: string;
  openWatches: number;
  /** Watch requests served so far (a test sees re-watches by it). */
  watchRequests: number;
  nodes: string[];
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '6443' },
      dir: { type: 'string' },
      control: { type: 'string' },
      'bookmark-ms': { type: 'string', default: '1000' },
    },
  });
  if (!values.dir || !values.control) throw new Error('usage: kube-apiserver-process --dir DIR --control SOCKET [--host IP] [--port N]');
  const server = await startKubeApiServer({ host: values.host, port: Number(values.port), dir: values.dir, bookmarkIntervalMs: Number(values['bookmark-ms']) });
  const controlPath = values.control;

  const routes: Record<string, (input: Record<string, unknown>) => unknown> = {
    'GET /state': (): KubeControlState => ({
      url: server.url,
      resourceVersion: server.currentResourceVersion,
      openWatches: server.openWatchCount,
      watchRequests: server.countRequests((r) => r.query.watch === 'true' || r.query.watch === '1'),
      nodes: [...server.nodes.keys()],
    }),
    'POST /nodes': (input) => server.addNode(input as unknown as TestNodeSpec),
    'POST /delete-node': (input) => server.deleteNode(String(input.name)),
    'POST /drop-watches': (input) => ({ dropped: server.dropWatches({ abrupt: input.abrupt === true }) }),
    'POST /expire-watches': (input) => server.expireNextWatches(Number(input.count ?? 1)),
    'POST /compact': () => server.compact(),
    'POST /silent': (input) => server.setSilent(input.silent === true),
    'POST /fail-next': (input) => server.failNext(Number(input.count ?? 1), { code: Number(input.code ?? 500), watchOnly: input.watchOnly === true }),
  };
  const control = createServer((req: IncomingMessage, res: ServerResponse) => {
    const route = routes[`${req.method ?? 'GET'} ${req.url ?? '/'}`];
    body(req)
      .then((input) => {
        if (!route) {
          res.writeHead(404).end(JSON.stringify({ error: `no control ${req.method} ${req.url}` }));
          return;
        }
        const out = route(input);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out ?? {}));
      })
      .catch((error: unknown) => res.writeHead(400).end(JSON.stringify({ error: (error as Error).message })));
  });
  rmSync(controlPath, { force: true });
  await new Promise<void>((resolve) => control.listen(controlPath, resolve));
  process.stdout.write(`kube API test server on ${server.url}, control socket ${controlPath}\n`);

  const stop = (): void => {
    control.close();
    rmSync(controlPath, { force: true });
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`kube-apiserver-process: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
