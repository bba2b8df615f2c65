// S3 vault figures with the real bt binary against s3rver (child process): upload throughput for one large
// file and for many small ones, restore throughput, the requests a large file and a 1 KiB append to it cost
// (chunked, ADR 0012), and peak RSS of `bt backup` while uploading a 2 GiB file.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3RVER_CREDENTIALS, type S3Server, s3VaultArgs, startS3Server } from '../test/support/s3-server.js';
import { keystream } from './corpus.js';
import { type Measured, measure } from './measure.js';

const BT = fileURLToPath(new URL('../bin/bt.js', import.meta.url));
const MiB = 1 << 20;

export interface S3BenchOptions {
  readonly largeBytes?: number;
  readonly smallFiles?: number;
  readonly hugeBytes?: number;
}

/** Writes `size` deterministic, incompressible bytes (AES-CTR keystream in 8 MiB chunks). */
function writeDeterministic(path: string, size: number, seed: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < size; off += 8 * MiB) writeSync(fd, keystream(seed * 100_000 + off / (8 * MiB), Math.min(8 * MiB, size - off)));
  } finally {
    closeSync(fd);
  }
}

/** Peak RSS of a command in MiB: /usr/bin/time when present, else VmHWM sampled from /proc while it runs. */
async function measurePeak(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Measured> {
  if (existsSync('/usr/bin/time')) return measure(process.execPath, [BT, ...args], { cwd, env });
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [BT, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peakKiB = 0;
  const sample = (): void => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
    } catch {
      // The process is gone: the last sample stands (VmHWM only grows).
    }
  };
  const timer = setInterval(sample, 20);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearInterval(timer);
  if (code !== 0) throw new Error(`bt ${args.join(' ')} failed (${code}): ${stderr.slice(0, 2000)}`);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, rssMiB: peakKiB / 1024, stdout };
}

/** A bt home whose only vault is a bucket on the server; returns a runner for bt in it. */
function s3Home(root: string, server: S3Server, bucket: string) {
  mkdirSync(join(root, 'home'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...S3RVER_CREDENTIALS,
    HOME: join(root, 'home'),
    BT_BASE_DIR: join(root, 'bt'),
    BT_CONFIG: join(root, 'bt.toml'),
    BT_NO_PROGRESS: '1',
  };
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  const bt = (...args: string[]): Measured => measure(process.execPath, [BT, ...args], { cwd: data, env });
  bt('config', 'init');
  bt(...s3VaultArgs(server, 'cloud', bucket));
  bt('config', 'vault', 'remove', 'local');
  bt('config', 'vault', 'init');
  bt('dir', 'init');
  return { bt, env, data };
}

const MB = (bytes: number, seconds: number): number => bytes / 1e6 / seconds;

/**
 * Runs the S3 scenarios in `dir` (created; everything generated is removed again) and returns the figures
 * by name. Needs about 3x hugeBytes of free disk at its peak (file, staged copy, object).
 */
export async function benchS3(dir: string, opts: S3BenchOptions = {}): Promise<Record<string, number>> {
  const largeBytes = opts.largeBytes ?? 1024 * MiB;
  const smallFiles = opts.smallFiles ?? 5000;
  const hugeBytes = opts.hugeBytes ?? 2 * 1024 * MiB;
  mkdirSync(dir, { recursive: true });
  const server = await startS3Server({ root: join(dir, 's3rver'), logRequests: true });
  /** Requests to a bucket since `from`, by method (HEAD, GET, PUT, POST, DELETE). */
  const requestsSince = (from: number, bucket: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of server.requests().slice(from)) if (r.url.startsWith(`/${bucket}/`)) out[r.method] = (out[r.method] ?? 0) + 1;
    return out;
  };
  const figures: Record<string, number> = {};
  try {
    {
      const h = s3Home(join(dir, 'large'), server, 'bench-large');
      writeDeterministic(join(h.data, 'large.bin'), largeBytes, 7);
      h.bt('add', '.');
      let mark = server.requests().length;
      const up = h.bt('backup');
      const first = requestsSince(mark, 'bench-large');
      figures[`upload 1 file of ${largeBytes / MiB} MiB, MB/s`] = MB(largeBytes, up.seconds);
      figures[`upload 1 file of ${largeBytes / MiB} MiB: PUT requests`] = first.PUT ?? 0;
      figures[`upload 1 file of ${largeBytes / MiB} MiB: HEAD requests`] = first.HEAD ?? 0;
      mark = server.requests().length;
      const down = h.bt('restore', 'large.bin', '--output', join(dir, 'large', 'restored.bin'));
      figures[`restore 1 file of ${largeBytes / MiB} MiB, MB/s`] = MB(largeBytes, down.seconds);
      figures[`restore 1 file of ${largeBytes / MiB} MiB: GET requests`] = requestsSince(mark, 'bench-large').GET ?? 0;
      // A 1 KiB append: one HEAD per chunk finds the rest present; only the changed chunk is sent.
      appendFileSync(join(h.data, 'large.bin'), keystream(5, 1024));
      h.bt('add', '.');
      mark = server.requests().length;
      const again = h.bt('backup', '--json');
      const appended = requestsSince(mark, 'bench-large');
      figures['1 KiB append to it: MiB sent'] = (JSON.parse(again.stdout) as { bytes_sent: number }).bytes_sent / MiB;
      figures['1 KiB append to it: PUT requests'] = appended.PUT ?? 0;
      figures['1 KiB append to it: HEAD requests'] = appended.HEAD ?? 0;
      figures['1 KiB append to it: backup s'] = again.seconds;
      rmSync(join(dir, 'large'), { recursive: true, force: true });
      rmSync(join(server.directory, 'bench-large'), { recursive: true, force: true });
    }
    {
      const h = s3Home(join(dir, 'small'), server, 'bench-small');
      let bytes = 0;
      for (let i = 0; i < smallFiles; i++) {
        const sub = join(h.data, `d${Math.floor(i / 500)}`);
        if (i % 500 === 0) mkdirSync(sub, { recursive: true });
        const size = 1024 + (((i * 2654435761) >>> 0) % (31 * 1024));
        writeFileSync(join(sub, `f${i}.dat`), keystream(i + 1, size));
        bytes += size;
      }
      h.bt('add', '.');
      const up = h.bt('backup');
      figures[`upload ${smallFiles} files of 1-32 KiB, files/s`] = smallFiles / up.seconds;
      figures[`upload ${smallFiles} files of 1-32 KiB, MB/s`] = MB(bytes, up.seconds);
      figures[`upload ${smallFiles} files of 1-32 KiB, s`] = up.seconds;
      rmSync(join(dir, 'small'), { recursive: true, force: true });
      rmSync(join(server.directory, 'bench-small'), { recursive: true, force: true });
    }
    {
      const h = s3Home(join(dir, 'huge'), server, 'bench-huge');
      writeDeterministic(join(h.data, 'huge.bin'), hugeBytes, 11);
      h.bt('add', '.');
      const up = await measurePeak(['backup'], h.data, h.env);
      figures[`bt backup of 1 file of ${hugeBytes / MiB} MiB, peak RSS MiB`] = up.rssMiB;
      figures[`upload 1 file of ${hugeBytes / MiB} MiB, MB/s`] = MB(hugeBytes, up.seconds);
      rmSync(join(dir, 'huge'), { recursive: true, force: true });
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
