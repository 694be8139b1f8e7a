// Atomic file replacement for the CNI handoff files: a container runtime (or flannel's CNI plugin)
// may read them at any moment, so a reader must see the old content or the new, never half.
// The new content goes to a temporary file in the same directory (same file system, so rename(2)
// is atomic), is fsynced, renamed over the target, and the directory is fsynced so the rename
// itself survives a crash. Unchanged content is not rewritten: no needless inotify events for
// runtimes that watch /etc/cni/net.d.
//
// Not a lock: one daemon owns each file; concurrent writers are not coordinated.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of a newly written file (default 0o644: runtimes read it as another user). */
  mode?: number;
}

/**
 * Makes `path` hold exactly `content`. Returns true when the file was written, false when it
 * already held that content. Creates the directory if needed.
 */
export async function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === content) return false;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  // A leading dot and a suffix that is not .conf/.conflist/.json: runtimes scanning the CNI
  // directory never pick up the temporary file.
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
  return true;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory (EINVAL); the rename is done either way.
  } finally {
    await handle.close();
  }
}
