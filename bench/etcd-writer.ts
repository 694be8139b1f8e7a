// A registry writer for the lab benches, run as a child inside the lab's underlay namespace (the
// bench process lives in the host namespace and cannot reach the lab's etcd at 192.0.2.1):
//
//   ip netns exec <id>-ul node dist/bench/etcd-writer.js http://192.0.2.1:2379
//
// It reads one JSON command per stdin line and answers one JSON line per command, with the
// CLOCK_MONOTONIC time (ms, process.hrtime) just before the request left and when etcd answered,
// so the bench can time "registry write → kernel programmed" across processes:
//
//   {"id":1,"op":"put","key":K,"value":V}         → {"id":1,"ok":true,"sentMs":…,"ackMs":…}
//   {"id":2,"op":"delete","key":K}                → {"id":2,"ok":true,"sentMs":…,"ackMs":…}
//   {"id":3,"op":"putMany","entries":[{key,value}]} → {"id":3,"ok":true,"count":N}
//   {"id":4,"op":"count","prefix":P}              → {"id":4,"ok":true,"count":N}
//   {"id":5,"op":"watch","prefix":P}              → {"id":5,"ok":true}, then for every change
//                                                   {"event":"put"|"delete","key":K,"atMs":…}
//
// What it is not: a registry (no validation, no leases); it writes exactly what it is told.
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';

interface Command {
  id: number;
  op: 'put' | 'delete' | 'putMany' | 'count' | 'watch';
  key?: string;
  value?: string;
  prefix?: string;
  entries?: { key: string; value: string }[];
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const reply = (value: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

async function handle(client: Etcd3, cmd: Command): Promise<Record<string, unknown>> {
  switch (cmd.op) {
    case 'put': {
      const sentMs = nowMs();
      await client.put(cmd.key!).value(cmd.value!);
      return { sentMs, ackMs: nowMs() };
    }
    case 'delete': {
      const sentMs = nowMs();
      await client.delete().key(cmd.key!);
      return { sentMs, ackMs: nowMs() };
    }
    case 'putMany': {
      const entries = cmd.entries ?? [];
      // 256 puts in flight on one HTTP/2 connection: fast, and far from etcd's request limits.
      for (let i = 0; i < entries.length; i += 256) {
        await Promise.all(entries.slice(i, i + 256).map((e) => client.put(e.key).value(e.value)));
      }
      return { count: entries.length };
    }
    case 'count':
      return { count: await client.getAll().prefix(cmd.prefix!).count() };
    case 'watch': {
      const watcher = await client.watch().prefix(cmd.prefix!).create();
      watcher.on('put', (kv) => reply({ event: 'put', key: kv.key.toString('utf8'), atMs: nowMs() }));
      watcher.on('delete', (kv) => reply({ event: 'delete', key: kv.key.toString('utf8'), atMs: nowMs() }));
      return {};
    }
  }
}

const endpoint = process.argv[2];
if (!endpoint) {
  process.stderr.write('usage: etcd-writer.js ENDPOINT\n');
  process.exit(2);
}
const client = new Etcd3({ hosts: [endpoint] });
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const cmd = JSON.parse(line) as Command;
  handle(client, cmd).then(
    (result) => reply({ id: cmd.id, ok: true, ...result }),
    (error: unknown) => reply({ id: cmd.id, ok: false, error: (error as Error).message }),
  );
});
lines.on('close', () => {
  client.close();
  process.exit(0);
});
process.on('SIGTERM', () => {
  client.close();
  process.exit(0);
});
