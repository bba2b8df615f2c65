// Where command output goes: results on stdout (text or JSON), notices and progress on stderr.
import type { Reporter } from '../service/context.js';
import { printable } from '../core/printable.js';
import { createProgressReporter } from './progress.js';

export interface Io {
  readonly jsonMode: boolean;
  /** Whether results go to a terminal (then a notice repeating one is noise on the same screen). */
  readonly stdoutIsTerminal: boolean;
  /** A line of the text result (ignored in JSON mode). */
  line(text: string): void;
  /** The JSON result (printed only in JSON mode). */
  json(value: unknown): void;
  /** A notice on stderr, in both modes. */
  notice(text: string): void;
  /** A reporter for long-running use cases: notices on stderr, progress bar when stderr is a TTY. */
  reporter(label: string): Reporter;
}

export function consoleIo(jsonMode: boolean): Io {
  return {
    jsonMode,
    stdoutIsTerminal: process.stdout.isTTY === true,
    line: (text) => {
      if (!jsonMode) process.stdout.write(`${printable(text)}\n`);
    },
    json: (value) => {
      if (jsonMode) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    notice: (text) => process.stderr.write(`bt: ${printable(text)}\n`),
    reporter: (label) => createProgressReporter(label, (text) => process.stderr.write(`bt: ${printable(text)}\n`)),
  };
}
