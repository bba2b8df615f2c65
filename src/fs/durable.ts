// Durability in batches: one syncfs for many files instead of an fsync each (see docs/adr/0006).
import type { ChildProcessByStdio } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { childProcess } from '../core/lazy-builtin.js';

const run = (cmd: string, args: readonly string[]): Promise<unknown> => promisify(childProcess().execFile)(cmd, args);
let syncfsWorks: boolean | undefined = process.platform === 'linux' ? undefined : false;

/**
 * Makes every write so far to the filesystem holding `path` durable. On Linux one `sync -f` (syncfs)
 * covers a whole batch; elsewhere each listed file, its directory and the one above are fsynced.
 */
export async function flushFilesystem(path: string, files: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  if (syncfsWorks !== false) {
    if (await syncfs(path)) {
      syncfsWorks = true;
      return;
    }
    syncfsWorks = false;
  }
  // The directory above too: a file's directory may be new (a staging bucket, a vault fan-out directory).
  const dirs = new Set<string>();
  for (const file of files) {
    await fsyncPath(file);
    dirs.add(dirname(file));
    dirs.add(dirname(dirname(file)));
  }
  for (const dir of dirs) await fsyncPath(dir);
}

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Starts the process that runs `sync -f` while this one is still small and has no worker threads: call it
 * at the start of a command that will flush. Forking bt later, for each flush, stalled every thread of it
 * (page tables copied, copy-on-write faults) for longer than the flush itself took: 2 s of a 6 s `bt add`.
 */
export function prepareFlushes(): void {
  if (syncfsWorks !== false) helper ??= SyncfsHelper.start();
}

/** Whether flushes are done by syncfs (true), by an fsync per file (false), or not yet known (tests). */
export const flushesBySyncfs = (): boolean | undefined => syncfsWorks;

let helper: SyncfsHelper | null | undefined;

async function syncfs(path: string): Promise<boolean> {
  // A path the helper's line protocol cannot carry goes the old way: one `sync` process of its own.
  if (path.includes('\n')) return run('sync', ['-f', path]).then(() => true, () => false);
  helper ??= SyncfsHelper.start();
  return helper ? helper.sync(path) : false;
}

/**
 * A long-lived `sh` reading one path per line and answering `ok` or `failed` after `sync -f` on it. It ends
 * when bt does (its stdin closes); it never keeps bt alive while no flush is waiting.
 */
class SyncfsHelper {
  private readonly waiting: ((ok: boolean) => void)[] = [];
  private out = '';
  private dead = false;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => this.answered(text));
    child.on('error', () => this.stop());
    child.on('exit', () => this.stop());
    child.stdin.on('error', () => this.stop());
    this.idle();
  }

  /**
   * Null when it cannot be started (no /bin/sh, no memory to fork, no file descriptors): flushes then fsync
   * each file. In a process group of its own, so a Ctrl-C meant for bt does not end it before bt's last flush.
   */
  static start(): SyncfsHelper | null {
    const script = 'while IFS= read -r p; do if sync -f -- "$p" 2>/dev/null; then echo ok; else echo failed; fi; done';
    try {
      const child = childProcess().spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
      // Without file descriptors to spare, Node starts nothing and leaves the pipes null.
      if (!child.stdin || !child.stdout) return null;
      return new SyncfsHelper(child);
    } catch {
      return null;
    }
  }

  sync(path: string): Promise<boolean> {
    if (this.dead) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.busy();
      this.child.stdin.write(`${path}\n`);
    });
  }

  private answered(text: string): void {
    this.out += text;
    let nl;
    while ((nl = this.out.indexOf('\n')) >= 0) {
      const line = this.out.slice(0, nl);
      this.out = this.out.slice(nl + 1);
      this.waiting.shift()?.(line === 'ok');
    }
    if (this.waiting.length === 0) this.idle();
  }

  private stop(): void {
    this.dead = true;
    for (const w of this.waiting.splice(0)) w(false);
    // A `sync` it started may still hold the pipe: it must not keep bt alive.
    this.idle();
    this.child.stdout.destroy();
    this.child.stdin.destroy();
  }

  // Referenced only while an answer is awaited: bt exits as soon as its own work is done.
  // (Its pipes are sockets, which can be unreferenced.)
  private busy(): void {
    this.child.ref();
    (this.child.stdout as Socket).ref();
  }

  private idle(): void {
    this.child.unref();
    (this.child.stdout as Socket).unref();
    (this.child.stdin as Socket).unref();
  }
}
