// A tree restore gives the directories it made their recorded metadata through a descriptor, and only to the
// very directory it made: one swapped for a symlink or another directory meanwhile is left alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lstatSync, mkdirSync, renameSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { applyDirectoryMetadata } from '../../src/fs/restore-file.js';
import { tempDir } from '../support/tmp.js';

const identity = (path: string): { dev: bigint; ino: bigint } => {
  const st = lstatSync(path, { bigint: true });
  return { dev: st.dev, ino: st.ino };
};
const meta = { mode: 0o710, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtime_ns: '1577836800123456000' };

test('the directory made gets mode, owner and mtime; its atime is the mtime', () => {
  const dir = join(tempDir('bt-dirmeta'), 'made');
  mkdirSync(dir);
  const warnings: string[] = [];
  applyDirectoryMetadata(meta, dir, identity(dir), warnings);
  const st = statSync(dir, { bigint: true });
  assert.is(Number(st.mode & 0o7777n), 0o710);
  assert.is(st.mtimeNs / 1000n, 1577836800123456n);
  assert.is(st.atimeNs / 1000n, 1577836800123456n);
  assert.equal(warnings, []);
});

test('a directory swapped for a symlink is not followed: the link target keeps its mode', () => {
  const base = tempDir('bt-dirmeta');
  const dir = join(base, 'made');
  const victim = join(base, 'victim');
  mkdirSync(dir);
  mkdirSync(victim, { mode: 0o700 });
  const made = identity(dir);
  renameSync(dir, join(base, 'moved'));
  symlinkSync(victim, dir);
  assert.throws(() => applyDirectoryMetadata({ ...meta, mode: 0o777 }, dir, made, []), /ENOTDIR|ELOOP/);
  assert.is(statSync(victim).mode & 0o7777, 0o700);
});

test('a directory swapped for another directory is left alone, with a warning', () => {
  const base = tempDir('bt-dirmeta');
  const dir = join(base, 'made');
  mkdirSync(dir);
  const made = identity(dir);
  renameSync(dir, join(base, 'moved'));
  mkdirSync(dir, { mode: 0o700 });
  const warnings: string[] = [];
  applyDirectoryMetadata({ ...meta, mode: 0o777 }, dir, made, warnings);
  assert.is(statSync(dir).mode & 0o7777, 0o700);
  assert.equal(warnings, [`${dir}: replaced since this restore made it; its mode, owner and times were not restored`]);
});

test.run();
