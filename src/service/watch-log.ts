// The watcher's log: one timestamped line per event, appended to `log_dir/watch.log` and echoed to a sink (stderr).
import { closeSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { errnoCode } from '../core/errors.js';
import { printable } from '../core/printable.js';
import { makeDirs } from '../fs/make-dirs.js';

/** A log larger than this is moved to watch.log.1 (one generation kept), so it cannot grow forever. */
const ROTATE_BYTES = 10 * 1024 * 1024;

export interface WatchLog {
  readonly file: string;
  line(message: string): void;
  close(): void;
}

export function openWatchLog(logDir: string, echo: (line: string) => void): WatchLog {
  makeDirs(logDir, 0o700);
  const file = `${logDir}/watch.log`;
  let size = 0;
  let fd: number | undefined;
  const open = (): void => {
    try {
      size = statSync(file).size;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      size = 0;
    }
    if (size > ROTATE_BYTES) {
      renameSync(file, `${file}.1`);
      size = 0;
    }
    fd = openSync(file, 'a', 0o600);
  };
  open();
  return {
    file,
    line(message) {
      const text = `${new Date().toISOString()} ${printable(message)}`;
      if (fd !== undefined) {
        // Written synchronously: a line logged just before a crash or a signal is on disk, not in a buffer.
        size += writeSync(fd, `${text}\n`);
        if (size > ROTATE_BYTES) {
          closeSync(fd);
          open();
        }
      }
      echo(text);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
