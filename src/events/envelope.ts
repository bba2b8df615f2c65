// The envelope every event is recorded in, and the hash that chains it to the one before.
import { crypto } from '../core/lazy-builtin.js';
import * as t from 'io-ts';
import { IsoTime, NonNegInt, Sha256, Ulid, pattern } from '../core/decode.js';
import type { DomainEvent } from './codecs.js';

export const GENESIS_HASH = '0'.repeat(64);

/** What a projection needs of an event: its place in the journal, its time, and the event. */
export interface ReplayedEvent {
  readonly seq: number;
  readonly time: string;
  readonly event: DomainEvent;
}

export interface RecordedEvent extends ReplayedEvent {
  readonly id: string;
  readonly version: number;
  readonly host_id: string;
  readonly prev_hash: string;
  readonly hash: string;
}

/** A journal row as stored: the payload is canonical JSON text, hashed exactly as stored. */
export const JournalRow = t.type({
  seq: NonNegInt,
  id: Ulid,
  type: pattern('event type', /^[A-Za-z]+$/),
  version: NonNegInt,
  host_id: Ulid,
  time: IsoTime,
  payload: t.string,
  prev_hash: Sha256,
  hash: Sha256,
});
export type JournalRow = t.TypeOf<typeof JournalRow>;


/**
 * SHA-256 over the previous hash and the canonical bytes of the event: every field of the envelope
 * but the hash itself, keys sorted. The payload enters as stored, so old events verify after upcasting.
 */
export function eventHash(row: Omit<JournalRow, 'hash'>): string {
  const canonical =
    `{"data":${row.payload},"host_id":${JSON.stringify(row.host_id)},"id":${JSON.stringify(row.id)},` +
    `"seq":${row.seq},"time":${JSON.stringify(row.time)},"type":${JSON.stringify(row.type)},"version":${row.version}}`;
  return crypto().hash('sha256', `${row.prev_hash}\n${canonical}`, 'hex');
}
