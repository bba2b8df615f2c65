// The events of bt, past tense, each with the io-ts codec of its current schema version.
// Names and field names are persisted forever (they go to the vault): see docs/adr/0003-event-catalogue.md.
import * as t from 'io-ts';
import { Decimal, IsoTime, NonNegInt, Sha256, Ulid, pattern } from '../core/decode.js';

/**
 * A path relative to a tracked directory, '/'-separated: no leading '/', no empty, '.' or '..' component,
 * no NUL. A journal from a tampered vault cannot name a file outside its directory.
 */
export const RelativeName = pattern('relative path inside the directory', /^(?!\/)(?!.*\/\/)(?!(?:.*\/)?\.\.?(?:\/|$))[^\u0000]+(?<!\/)$/);
export const AbsoluteDir = pattern('absolute directory path', /^\/[^\u0000]*$/);

/** What stat said about a file or symlink when it was staged; enough to restore it and to spot changes. */
export const FileMeta = t.type({
  kind: t.keyof({ file: null, symlink: null }),
  size: NonNegInt,
  /** Permission bits (st_mode & 0o7777). */
  mode: NonNegInt,
  uid: NonNegInt,
  gid: NonNegInt,
  atime_ns: Decimal,
  mtime_ns: Decimal,
  ctime_ns: Decimal,
  birthtime_ns: t.union([Decimal, t.null]),
  dev: Decimal,
  ino: Decimal,
  /** The target of a symlink, recorded instead of following it. */
  link_target: t.union([t.string, t.null]),
});
export type FileMeta = t.TypeOf<typeof FileMeta>;

export const DirectoryTracked = t.type({
  directory_id: Ulid,
  /** Absolute path on the host. */
  path: AbsoluteDir,
});

/** What stat said about a directory inside (or of) a tracked directory: what a tree restore puts back. */
export const DirectoryMeta = t.type({
  /** Permission bits (st_mode & 0o7777). */
  mode: NonNegInt,
  uid: NonNegInt,
  gid: NonNegInt,
  mtime_ns: Decimal,
});
export type DirectoryMeta = t.TypeOf<typeof DirectoryMeta>;

/** A newly tracked parent takes over a tracked directory below it: its files move under `prefix/`. */
export const DirectoryAbsorbed = t.type({
  directory_id: Ulid,
  into_directory_id: Ulid,
  prefix: RelativeName,
});

/** A file's content and metadata were captured into the staging area, waiting for `bt backup`. */
export const FileStaged = t.type({
  stage_id: Ulid,
  file_id: Ulid,
  directory_id: Ulid,
  /** Path relative to the directory, '/'-separated. */
  name: RelativeName,
  /** SHA-256 of the staged bytes; null for a symlink (its target is in meta). */
  content_id: t.union([Sha256, t.null]),
  meta: FileMeta,
});

/**
 * A vault confirmed it holds the content's bytes. v2 added `sent` (v1 events read as sent: null, unknown);
 * v3 added `chunks` (v1 and v2 events read as chunks: null: stored whole, as every content was then).
 */
export const ContentStored = t.type({
  content_id: Sha256,
  vault: t.string,
  size: NonNegInt,
  /** Bytes sent to the vault for it: 0 when the vault already had the content; null when not recorded. */
  sent: t.union([NonNegInt, t.null]),
  /** How many chunks the vault's manifest lists when it holds the content chunked (ADR 0012); null: one object. */
  chunks: t.union([NonNegInt, t.null]),
});

/** A vault took a content's bytes: what a ContentStored says, folded into the commit it was stored for. */
export const StoredIn = t.type({
  vault: t.string,
  sent: t.union([NonNegInt, t.null]),
  chunks: t.union([NonNegInt, t.null]),
});
export type StoredIn = t.TypeOf<typeof StoredIn>;

/**
 * A staged version became a snapshot of its file, its content safe in every vault. v2 added `stored`: the
 * vaults that took the content in this same step (each a ContentStored of size meta.size, one event fewer
 * per new file); v1 events read as stored: [] (their ContentStored events precede them).
 */
export const SnapshotCommitted = t.type({
  snapshot_id: Ulid,
  stage_id: Ulid,
  file_id: Ulid,
  content_id: t.union([Sha256, t.null]),
  meta: FileMeta,
  /** When the version was captured (the FileStaged event's time). */
  staged_at: IsoTime,
  stored: t.array(StoredIn),
});

/** A file with history disappeared from its directory. */
export const FileDeleted = t.type({
  file_id: Ulid,
  directory_id: Ulid,
  name: RelativeName,
});

/**
 * A scan found a directory new or with other metadata than last recorded. `name` is relative to the tracked
 * directory, '' for the tracked directory itself. Its atime is not recorded: reading it changes it.
 */
export const DirectoryMetaRecorded = t.type({
  directory_id: Ulid,
  name: t.union([RelativeName, t.literal('')]),
  meta: DirectoryMeta,
});

/** A directory recorded before is gone from its tracked directory (or is no longer a directory). */
export const DirectoryRemoved = t.type({
  directory_id: Ulid,
  name: t.union([RelativeName, t.literal('')]),
});

/**
 * A staged version was dropped before backup: superseded by a newer version of the file, or (v2) lost:
 * its staged copy was on a machine this journal was recovered from.
 */
export const StageDropped = t.type({
  stage_id: Ulid,
  file_id: Ulid,
  reason: t.keyof({ superseded: null, lost: null }),
});

export const eventCodecs = {
  DirectoryTracked,
  DirectoryAbsorbed,
  FileStaged,
  ContentStored,
  SnapshotCommitted,
  FileDeleted,
  StageDropped,
  DirectoryMetaRecorded,
  DirectoryRemoved,
} as const;

export type EventType = keyof typeof eventCodecs;
export const eventTypes = Object.keys(eventCodecs) as EventType[];
export const isEventType = (s: string): s is EventType => Object.prototype.hasOwnProperty.call(eventCodecs, s);

/** A domain event before it is recorded: its type and its payload. */
export type DomainEvent = {
  [K in EventType]: { readonly type: K; readonly data: t.TypeOf<(typeof eventCodecs)[K]> };
}[EventType];

export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;
export type PayloadOf<K extends EventType> = EventOf<K>['data'];
