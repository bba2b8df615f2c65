// Builders for valid events, so tests say only what matters to them.
import { createHash } from 'node:crypto';
import type { EventOf, FileMeta } from '../../src/events/codecs.js';
import { ulidSource } from '../../src/core/ids.js';

const nextId = ulidSource();
let clock = Date.UTC(2025, 0, 1);
export const newId = (): string => nextId((clock += 1));

export const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

export function meta(over: Partial<FileMeta> = {}): FileMeta {
  return {
    kind: 'file',
    size: 5,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    atime_ns: '1735689600000000000',
    mtime_ns: '1735689600000000000',
    ctime_ns: '1735689600000000000',
    birthtime_ns: null,
    dev: '2049',
    ino: '12345',
    link_target: null,
    ...over,
  };
}

export const tracked = (path: string, directory_id = newId()): EventOf<'DirectoryTracked'> => ({
  type: 'DirectoryTracked',
  data: { directory_id, path },
});

export function staged(directory_id: string, name: string, over: Partial<EventOf<'FileStaged'>['data']> = {}): EventOf<'FileStaged'> {
  return {
    type: 'FileStaged',
    data: { stage_id: newId(), file_id: newId(), directory_id, name, content_id: sha(name), meta: meta(), ...over },
  };
}
