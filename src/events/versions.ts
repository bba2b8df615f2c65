// Schema versions of events and the upcasters that lift an old payload to the current shape before decoding.
// See docs/adr/0004-event-schema-evolution.md.
import type { EventType } from './codecs.js';

/** The version new events of each type are written with. */
export const currentVersion: Readonly<Record<EventType, number>> = {
  DirectoryTracked: 1,
  DirectoryAbsorbed: 1,
  FileStaged: 1,
  ContentStored: 3,
  SnapshotCommitted: 2,
  FileDeleted: 1,
  StageDropped: 2,
  DirectoryMetaRecorded: 1,
  DirectoryRemoved: 1,
};

/** Turns a payload of version v into version v + 1. Pure: old events are never rewritten, only read anew. */
export type Upcaster = (payload: Record<string, unknown>) => Record<string, unknown>;

export const upcasters: Partial<Record<EventType, Readonly<Record<number, Upcaster>>>> = {
  // v1 did not record how many bytes went over the wire; that is unknown, not zero. Before v3 every content
  // was stored as one object: chunks null.
  ContentStored: { 1: (p) => ({ ...p, sent: null }), 2: (p) => ({ ...p, chunks: null }) },
  // v2 added the reason 'lost'; every v1 event is already valid v2.
  StageDropped: { 1: (p) => p },
  // v2 folded the commit's ContentStored facts in; a v1 commit's are separate events before it.
  SnapshotCommitted: { 1: (p) => ({ ...p, stored: [] }) },
};

export type UpcastResult = { ok: true; payload: Record<string, unknown> } | { ok: false; reason: string };

export function upcast(type: EventType, version: number, payload: Record<string, unknown>): UpcastResult {
  const target = currentVersion[type];
  if (version > target) {
    return { ok: false, reason: `${type} v${version} is newer than this bt understands (v${target}); upgrade bt` };
  }
  let current = payload;
  for (let v = version; v < target; v++) {
    const step = upcasters[type]?.[v];
    if (!step) return { ok: false, reason: `no upcaster for ${type} v${v} -> v${v + 1}` };
    current = step(current);
  }
  return { ok: true, payload: current };
}
