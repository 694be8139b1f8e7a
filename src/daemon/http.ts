// The daemon's HTTP endpoints on --health-addr: /healthz (the process is alive and its loop
// turns), /readyz (200 only when every known remote node is programmed and the CNI files are
// written — what a DaemonSet readiness probe should gate on), /metrics (Prometheus text) and
// /status (JSON for `weft status` and humans). Read-only; nothing here changes state.
// The same endpoints are served on TCP (--health-addr, for kubelet probes and Prometheus) and
// on a Unix socket (--status-socket): Unix sockets are not namespaced, so `weft status`, the lab
// and tests reach a daemon running inside another network namespace by path.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';

export interface HealthSource {
  /** Undefined when ready, else why not (shown in the /readyz body). */
  notReadyReason(): string | undefined;
  status(): unknown;
}

export interface HttpEndpoint {
  host: string;
  port: number;
}

export class DaemonHttpServer {
  private readonly servers: Server[] = [];
  private readonly handler: RequestListener;

  constructor(
    private readonly source: HealthSource,
    private readonly metrics: Registry,
    private readonly logger: Logger,
  ) {
    this.handler = (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
        res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
      switch (path) {
        case '/healthz':
          return send(200, 'ok\n');
        case '/readyz': {
          const reason = this.source.notReadyReason();
          return reason === undefined ? send(200, 'ready\n') : send(503, `not ready: ${reason}\n`);
        }
        case '/metrics':
          this.metrics.metrics().then(
            (text) => send(200, text, this.metrics.contentType),
            (err: unknown) => {
              this.logger.error({ err }, 'metrics collection failed');
              send(500, 'metrics collection failed\n');
            },
          );
          return;
        case '/status':
          return send(200, `${JSON.stringify(this.source.status(), null, 2)}\n`, 'application/json');
        default:
          return send(404, 'not found: try /healthz /readyz /metrics /status\n');
      }
    };
  }

  /** Listens on TCP; resolves with the bound address (port 0 picks a free one). */
  async listen(endpoint: HttpEndpoint): Promise<HttpEndpoint> {
    const server = await this.serve((s, done) => s.listen(endpoint.port, endpoint.host, done));
    const address = server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Listens on a Unix socket (a stale one from a killed daemon is replaced). */
  async listenUnix(path: string): Promise<void> {
    mkdirSync(dirname(path), { recursive: true });
    rmSync(path, { force: true });
    await this.serve((s, done) => s.listen(path, done));
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  }

  private serve(listen: (server: Server, done: () => void) => void): Promise<Server> {
    const server = createServer(this.handler);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      listen(server, () => {
        server.off('error', reject);
        this.servers.push(server);
        resolve(server);
      });
    });
  }
}
