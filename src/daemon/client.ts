// A client for a running daemon's endpoints, over its Unix status socket or its TCP health
// address — what `weft status`, the lab and tests use to ask a daemon how it is doing.
import { request } from 'node:http';

export type DaemonAddress = { socketPath: string } | { host: string; port: number };

export interface DaemonResponse {
  status: number;
  body: string;
}

export class DaemonUnreachableError extends Error {
  constructor(
    readonly address: DaemonAddress,
    override readonly cause: unknown,
  ) {
    super(`cannot reach the weft daemon at ${'socketPath' in address ? address.socketPath : `${address.host}:${address.port}`}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'DaemonUnreachableError';
  }
}

export function daemonGet(address: DaemonAddress, path: string, timeoutMs = 3000): Promise<DaemonResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ ...address, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new DaemonUnreachableError(address, err)));
    req.end();
  });
}
