// `bt dir init`: track a directory; a parent of tracked directories absorbs them and their history.
import { statSync } from 'node:fs';
import { userError } from '../core/errors.js';
import type { EventOf } from '../events/codecs.js';
import { nameWithin } from '../fs/paths.js';
import type { Directory } from '../projections/queries.js';
import type { Context } from './context.js';
import { btOwnPaths } from './own-paths.js';

export type TrackResult =
  | { readonly status: 'tracked'; readonly directory: Directory; readonly absorbed: readonly string[] }
  | { readonly status: 'already-tracked'; readonly directory: Directory }
  | { readonly status: 'inside-tracked'; readonly directory: Directory };

export function trackDirectory(ctx: Context, path: string): TrackResult {
  if (!statSync(path).isDirectory()) throw userError(`${path} is not a directory`);
  for (const own of btOwnPaths(ctx.config)) {
    if (path === own || path.startsWith(`${own}/`)) {
      throw userError(`${path} is inside bt's own data (${own})`, 'track the directories you want backed up, not bt itself');
    }
  }
  const q = ctx.store.queries;
  const covering = q.searchDirectoryForPath(path);
  if (covering) return { status: covering.path === path ? 'already-tracked' : 'inside-tracked', directory: covering };

  const directory_id = ctx.newId();
  const children = q.findDirectoriesByPathPrefix(path);
  const events: (EventOf<'DirectoryTracked'> | EventOf<'DirectoryAbsorbed'>)[] = [
    { type: 'DirectoryTracked', data: { directory_id, path } },
    ...children.map((child): EventOf<'DirectoryAbsorbed'> => ({
      type: 'DirectoryAbsorbed',
      data: { directory_id: child.id, into_directory_id: directory_id, prefix: nameWithin(path, child.path) },
    })),
  ];
  ctx.store.append(events);
  const directory = q.findDirectoryById(directory_id);
  if (!directory) throw new Error('tracked directory missing from its projection');
  return { status: 'tracked', directory, absorbed: children.map((c) => c.path) };
}
