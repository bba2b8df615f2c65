// The manifest of a chunked content: which chunks, in which order, make the file. The same bytes are the
// staged copy's manifest.json and the vault's manifests/<sha256> object (ADR 0012), so they are persisted
// forever: field names and order never change; a new shape is a new format number.
import { crypto } from '../core/lazy-builtin.js';
import * as t from 'io-ts';
import { NonNegInt, Sha256, decodeWith } from '../core/decode.js';

export const MANIFEST_FORMAT = 1;
/** The manifest's file name inside a staged chunk directory (chunk files are named by their SHA-256). */
export const MANIFEST_FILE = 'manifest.json';

const ManifestCodec = t.type({
  format: t.literal(MANIFEST_FORMAT),
  /** SHA-256 of the whole file: the content id. */
  sha256: Sha256,
  size: NonNegInt,
  /** [SHA-256 of the chunk, its length], in file order; a chunk may appear more than once. */
  chunks: t.array(t.tuple([Sha256, NonNegInt])),
});
export type ChunkManifest = t.TypeOf<typeof ManifestCodec>;

/** Canonical bytes: the same chunks always give the same manifest, so two hosts write identical objects. */
export function encodeManifest(m: ChunkManifest): Buffer {
  const chunks = m.chunks.map(([id, n]) => `["${id}",${n}]`).join(',');
  return Buffer.from(`{"format":${m.format},"sha256":"${m.sha256}","size":${m.size},"chunks":[${chunks}]}\n`);
}

/** Decodes manifest bytes and checks they describe `expected`: its id, and lengths that add up to its size. */
export function decodeManifest(bytes: Buffer, expected: string): { ok: true; value: ChunkManifest } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const r = decodeWith(ManifestCodec, raw);
  if (!r.ok) return r;
  const m = r.value;
  if (m.sha256 !== expected) return { ok: false, reason: `it describes ${m.sha256.slice(0, 12)}, not ${expected.slice(0, 12)}` };
  let total = 0;
  for (const [, n] of m.chunks) {
    if (n === 0) return { ok: false, reason: 'a chunk of length 0' };
    total += n;
  }
  if (total !== m.size) return { ok: false, reason: `its chunks add up to ${total} bytes, not ${m.size}` };
  return { ok: true, value: m };
}

/** Each chunk once, in order of first appearance, with its length. */
export function distinctChunks(m: ChunkManifest): [string, number][] {
  const seen = new Set<string>();
  const out: [string, number][] = [];
  for (const [id, n] of m.chunks) {
    if (seen.has(id)) continue;
    seen.add(id);
    out.push([id, n]);
  }
  return out;
}

export const sha256Hex = (data: Uint8Array): string => crypto().createHash('sha256').update(data).digest('hex');
