// What every use case works with: the config, the host's store, its vaults, and how to tell the user things.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { readConfig } from '../config/file.js';
import { type Clock, type IdSource, systemClock, ulidSource } from '../core/ids.js';
import { Store } from '../store/store.js';
import { openVaults } from '../vaults/registry.js';
import type { Vault, VaultIdentity } from '../vaults/vault.js';
import { type HostLock, acquireHostLock } from './host-lock.js';
import { userError } from '../core/errors.js';
import { journalPrefix, parseSegmentKeys } from '../events/segment.js';
import { stagedCopyPath } from './staging-area.js';

/** How a use case reports as it goes; commands decide where it is shown (stderr, log file, nowhere). */
export interface Reporter {
  /** A one-line notice: something skipped, something to know. */
  notice(message: string): void;
  /** Progress of long work; called often, so implementations throttle. */
  progress?(p: Progress): void;
  done?(): void;
}

export interface Progress {
  readonly phase: string;
  readonly files: number;
  readonly totalFiles?: number;
  readonly bytes: number;
  readonly totalBytes?: number;
}

export const silentReporter: Reporter = { notice: () => {} };

/** What a reload of the config file found: the line to log, and whether the vaults or the ignore rules changed. */
export interface ConfigReload {
  readonly message: string;
  readonly vaults: boolean;
  readonly ignore: boolean;
}

const unchanged = (message: string): ConfigReload => ({ message, vaults: false, ignore: false });

export class Context {
  private vaultsOpening: Promise<Vault[]> | undefined;
  private vaultList: Vault[] | undefined;
  private lock: HostLock | undefined;

  private constructor(
    private current: Config,
    readonly store: Store,
    readonly clock: Clock,
    readonly ids: IdSource,
    readonly reporter: Reporter,
  ) {}

  static open(reporter: Reporter = silentReporter, config: Config = readConfig()): Context {
    const clock = systemClock;
    const ids = ulidSource();
    const store = Store.open(databaseFile(config), config.host_id, clock, ids, () =>
      reporter.notice('the database was made by an older bt: rebuilding its projections from the journal (once)'),
    );
    return new Context(config, store, clock, ids, reporter);
  }

  get config(): Config {
    return this.current;
  }

  /**
   * For a process that runs for days (`bt watch`): takes the config file again when it changed. Vaults,
   * ignore rules and the backup settings take effect; a change to the host id or to where bt keeps its
   * files needs a restart, and is said instead. Returns what to tell the user and what changed, or undefined.
   */
  async reloadConfig(path?: string): Promise<ConfigReload | undefined> {
    let next: Config;
    try {
      next = readConfig(path);
    } catch (err) {
      return unchanged(`the config cannot be read now (${err instanceof Error ? err.message : String(err)}); still using the one read before`);
    }
    const now = this.current;
    if (JSON.stringify(next) === JSON.stringify(now)) return undefined;
    const places = (c: Config): string => JSON.stringify([c.host_id, c.base_dir, c.log_dir, c.database, c.staging]);
    if (places(next) !== places(now)) return unchanged('the config changed where bt keeps its files or its host id: restart the watcher to use it');
    const vaultsChanged = JSON.stringify(next.vaults) !== JSON.stringify(now.vaults);
    if (vaultsChanged && this.vaultsOpening) {
      const old = await this.vaultsOpening.catch(() => []);
      for (const v of old) v.close();
      this.vaultsOpening = undefined;
      this.vaultList = undefined;
    }
    this.current = next;
    const ignore = JSON.stringify(next.fs.ignore) !== JSON.stringify(now.fs.ignore);
    const message = vaultsChanged ? `config read again: vaults now ${next.vaults.map((v) => `"${v.name}"`).join(', ') || 'none'}` : 'config read again';
    return { message, vaults: vaultsChanged, ignore };
  }

  /**
   * The journal in the database is this host's (its first event names the config's host id). It is not after
   * a `bt recover` killed between its commit and the config's new host id: new events would then carry the
   * wrong host id into the other host's chain, and go to the vault under the wrong host.
   */
  checkJournalOwner(): void {
    const owner = this.store.journal.owner();
    if (owner === undefined || owner === this.config.host_id) return;
    throw userError(
      `the database holds the journal of host ${owner}, but the config's host_id is ${this.config.host_id}`,
      `if a \`bt recover\` was interrupted, run it again to finish; else set host_id = "${owner}" in the config`,
    );
  }

  get stagingDir(): string {
    return this.config.staging.staging_dir;
  }

  stagedPath(stageId: string): string {
    return stagedCopyPath(this.stagingDir, stageId);
  }

  newId(): string {
    return this.ids(this.clock.now());
  }

  /**
   * Vaults in config order, created on first use (the S3 SDK loads only if an S3 vault is configured). The
   * promise is kept, not its result: callers that arrive while the first open is under way share it.
   */
  vaults(): Promise<Vault[]> {
    const identityOf = (name: string): VaultIdentity => ({
      recorded: () => this.store.settings.get(`vault_id:${name}`),
      record: (id) => this.store.settings.set(`vault_id:${name}`, id),
    });
    this.vaultsOpening ??= openVaults(this.config, identityOf).then(
      (list) => (this.vaultList = list),
      (err: unknown) => {
        this.vaultsOpening = undefined;
        throw err;
      },
    );
    return this.vaultsOpening;
  }

  /** Takes the host lock for a command that changes state; held until close(). */
  async lockHost(command: string, opts: { allowFrozen?: boolean; waitMs?: number } = {}): Promise<void> {
    const frozen = this.store.settings.get('frozen_at');
    if (frozen !== undefined && !opts.allowFrozen) {
      throw userError(
        `this database was recovered as it was at ${frozen} and is read-only`,
        'restore what you need, then run `bt recover` without --at to continue backing up',
      );
    }
    this.lock ??= await acquireHostLock(this.config.database.data_dir, command, opts.waitMs);
    if (APPENDING.has(command) && this.store.journal.head().seq === 0) await this.refuseLostJournal();
  }

  /**
   * An empty journal on a host whose journal a vault holds: the database was lost or moved, the config kept.
   * Appending now would start a second journal under the same host id, which the vault would refuse for good
   * (it diverges at event 1); `bt recover` brings the journal back instead. A vault that cannot answer tells
   * nothing and is passed over.
   */
  private async refuseLostJournal(): Promise<void> {
    const host = this.config.host_id;
    for (const vault of await this.vaults()) {
      let keys: string[];
      try {
        keys = await vault.listMetadata(journalPrefix(host));
      } catch {
        continue;
      }
      if (parseSegmentKeys(keys).length === 0) continue;
      throw userError(
        `vault "${vault.name}" holds the journal of this host (${host}), but the local database has none: it was lost, moved or replaced`,
        `run \`bt recover --vault ${vault.name}\` to bring it back (a config copied from another machine needs a host id of its own: move it aside and run \`bt config init\`)`,
      );
    }
  }

  /**
   * Releases the host lock before close(): a long-running `bt watch` holds it only while it works. What the
   * vaults cache goes with it (objects known present or absent, directories made): it holds only while no
   * other bt on this host can change the vault (`bt check` repairs, a disk swapped meanwhile).
   */
  unlockHost(): void {
    for (const v of this.vaultList ?? []) v.forgetCaches();
    this.lock?.release();
    this.lock = undefined;
  }

  close(): void {
    for (const v of this.vaultList ?? []) v.close();
    this.store.close();
    this.lock?.release();
  }
}

/** Commands that append to the journal (see refuseLostJournal). */
const APPENDING: ReadonlySet<string> = new Set(['add', 'backup', 'dir init', 'sync', 'watch']);

export const databaseFile = (config: Config): string => join(config.database.data_dir, 'bt.db');
