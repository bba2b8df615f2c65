// Runs the real `bt` binary as a child process in a temporary HOME, as a user would.
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

export const BT_BIN = fileURLToPath(new URL('../../bin/bt.js', import.meta.url));

export interface BtResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
}

/** Whether bt can be run as another user here (root, with setpriv): permissions bind that user, not root. */
export const canRunAsNobody = (): boolean => process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;

export class BtHome {
  readonly home: string;
  readonly env: Record<string, string>;

  constructor(label = 'bt-home', extraEnv: Record<string, string> = {}) {
    this.home = tempDir(label);
    mkdirSync(join(this.home, 'work'), { recursive: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('BT_') && !k.startsWith('AWS_')) env[k] = v;
    }
    this.env = { ...env, HOME: this.home, BT_NO_PROGRESS: '1', BT_LOCK_WAIT_MS: '5000', ...extraEnv };
  }

  get work(): string {
    return join(this.home, 'work');
  }

  get vault(): string {
    return join(this.home, 'data/bt/vault');
  }

  /** Runs bt and returns its exit code and output; never throws for a non-zero exit. */
  run(args: readonly string[], opts: RunOptions = {}): BtResult {
    const r = spawnSync(process.execPath, [BT_BIN, ...args], {
      cwd: opts.cwd ?? this.work,
      env: { ...this.env, ...opts.env } as NodeJS.ProcessEnv,
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 120_000,
    });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs bt in `cwd` as the unprivileged user nobody (65534:65534); see canRunAsNobody. */
  asNobody(args: readonly string[], cwd: string): SpawnSyncReturns<string> {
    return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BT_BIN, ...args], { cwd, env: this.env, encoding: 'utf8' });
  }

  /** Runs bt, expecting exit code 0; returns stdout. */
  ok(args: readonly string[], opts: RunOptions = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`bt ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs bt with --json, expecting exit code 0; returns the parsed output. */
  json<T = Record<string, unknown>>(args: readonly string[], opts: RunOptions = {}): T {
    return JSON.parse(this.ok([...args, '--json'], opts)) as T;
  }

  /** Starts bt in the background (for watch, kill tests). */
  spawn(args: readonly string[], opts: RunOptions = {}) {
    return spawn(process.execPath, [BT_BIN, ...args], {
      cwd: opts.cwd ?? this.work,
      env: { ...this.env, ...opts.env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** config init with the default local vault. */
  init(): this {
    this.ok(['config', 'init']);
    return this;
  }
}
