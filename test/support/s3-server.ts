// A real S3-compatible server (s3rver) for tests, in a child process on 127.0.0.1, with its own directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

const CHILD = fileURLToPath(new URL('./s3rver-child.cjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** s3rver's default account: it checks that the access key id exists, not the signature. */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

/** One request as the server saw it (with `startS3Server({ logRequests: true })`). */
export interface LoggedRequest {
  readonly method: string;
  readonly url: string;
  readonly length: number;
  readonly md5?: string;
  readonly sha256?: string;
  readonly checksumAlgorithm?: string;
  readonly encoding?: string;
  readonly contentSha256?: string;
  readonly storageClass?: string;
}

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  /** Where s3rver keeps buckets: `<dir>/<bucket>/<key>._S3rver_object`. */
  readonly directory: string;
  readonly running: boolean;
  /** Kills the server at once (SIGKILL), as a crash or a network cut would. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** The file holding an object's bytes (to corrupt or delete it behind the server's back). */
  objectFile(bucket: string, key: string): string;
  /** Keys of the objects in a bucket whose key starts with `prefix`. */
  listKeys(bucket: string, prefix?: string): string[];
  /** The requests so far (empty unless started with logRequests). */
  requests(): LoggedRequest[];
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface S3ServerOptions {
  /** Log every request (see `requests()`). */
  readonly logRequests?: boolean;
  /** Answer x-amz-checksum-* headers with 400 InvalidArgument, as Backblaze B2 does. */
  readonly rejectChecksumHeaders?: boolean;
  /** Where to keep the server's data (default: a temporary directory removed at exit). */
  readonly root?: string;
}

function launch(directory: string, port: number, log: string | undefined, opts: S3ServerOptions): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--openssl-legacy-provider', CHILD, directory, String(port), ...(log ? [log] : [])], {
      cwd: ROOT,
      env: { ...process.env, S3RVER_REJECT_CHECKSUM_HEADERS: opts.rejectChecksumHeaders ? '1' : '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start within 10 s: ${err}`));
    }, 10_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        const parsed: unknown = JSON.parse(line);
        const p = typeof parsed === 'object' && parsed !== null && 'port' in parsed ? Number(parsed.port) : NaN;
        if (!Number.isInteger(p)) reject(new Error(`s3rver said: ${line}`));
        else {
          // The server must not keep a finished test process alive; it exits when our end of stdin closes.
          child.unref();
          for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
          resolve({ child, port: p });
        }
      }
    });
    child.on('exit', (code) => {
      live.delete(child);
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code}) before listening: ${err}`));
    });
  });
}

export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const root = opts.root ?? tempDir('bt-s3rver');
  const directory = join(root, 'data');
  mkdirSync(directory, { recursive: true });
  const log = opts.logRequests ? join(root, 'requests.ndjson') : undefined;
  let { child, port } = await launch(directory, 0, log, opts);
  let running = true;
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.ref(); // keep this process alive until the server is gone
    child.kill('SIGKILL');
    await exited;
  };
  const objectFile = (bucket: string, key: string): string => {
    const parts = key.split('/');
    const last = parts.pop()!;
    return join(directory, bucket, ...parts, `${last}._S3rver_object`);
  };
  return {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    directory,
    get running() {
      return running;
    },
    stop,
    async restart() {
      await stop();
      // The port was ours a moment ago; retry briefly in case the kernel has not let it go yet.
      for (let attempt = 0; ; attempt++) {
        try {
          ({ child } = await launch(directory, port, log, opts));
          break;
        } catch (err) {
          if (attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      running = true;
    },
    objectFile,
    listKeys(bucket: string, prefix = '') {
      const base = join(directory, bucket);
      const out: string[] = [];
      const visit = (dir: string, rel: string): void => {
        // Dirent types, not stat: the server renames temporary files while we look.
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory()) visit(join(dir, e.name), rel ? `${rel}/${e.name}` : e.name);
          else if (e.name.endsWith('._S3rver_object')) {
            const key = `${rel ? `${rel}/` : ''}${e.name.slice(0, -'._S3rver_object'.length)}`;
            if (key.startsWith(prefix)) out.push(key);
          }
        }
      };
      if (existsSync(base)) visit(base, '');
      return out.sort();
    },
    requests() {
      if (!log || !existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as LoggedRequest);
    },
  };
}

/** `bt config vault add` arguments for an S3 vault on this server (path style, as local servers need). */
export function s3VaultArgs(server: S3Server, name: string, bucket: string, extra: readonly string[] = []): string[] {
  return ['config', 'vault', 'add', name, '--type', 's3', '--bucket', bucket, '--endpoint', server.endpoint, '--force-path-style', '--region', 'us-east-1', ...extra];
}
