// The one entry that wires the commands: folds multi-word names, parses with cac, runs, decides the exit code.
import { type CAC, cac } from 'cac';
import type { CommandSpec } from './commands/command.js';
import { commands } from './commands/index.js';
import { consoleIo } from './commands/io.js';
import { decodeWith } from './core/decode.js';
import { BtError, ExitCode, describeError, errnoCode, exitCodeFor, integrityError, usageError, userError } from './core/errors.js';
import { printable } from './core/printable.js';
import { makeOwnFilesPrivate } from './core/umask.js';
import { BT_VERSION } from './version.js';

/** cac matches one word: the longest run of leading words that names a command becomes one argument. */
function foldCommandWords(words: readonly string[]): { spec: CommandSpec<unknown> | undefined; argv: string[] } {
  for (let n = Math.min(3, words.length); n >= 1; n--) {
    const name = words.slice(0, n).join(' ');
    const spec = commands.find((c) => c.name === name);
    if (spec) return { spec, argv: [name, ...words.slice(n)] };
  }
  return { spec: undefined, argv: [...words] };
}

/** Marks option values so the parser keeps them as text ("0123" must not become 123); codecs unmark them. */
function protectValues(spec: CommandSpec<unknown>, argv: string[]): string[] {
  const valued = new Set<string>();
  const flags = new Set<string>(['--json']);
  for (const o of spec.options ?? []) {
    const takesValue = o.flags.includes('<') || o.flags.includes('[');
    for (const m of o.flags.matchAll(/(--?[A-Za-z][\w-]*)/g)) (takesValue ? valued : flags).add(m[1]!);
  }
  const out = [...argv];
  for (let i = 1; i < out.length; i++) {
    const token = out[i]!;
    if (token === '--') break;
    const eq = token.indexOf('=');
    if (eq > 0 && flags.has(token.slice(0, eq))) {
      throw usageError(`bt ${spec.name}: option ${token.slice(0, eq)} takes no value (got "${token.slice(eq + 1)}")`, `write ${token.slice(0, eq)} alone; see \`bt ${spec.name} --help\``);
    }
    // bt has no short options but -h: cac reads `-dash` as -d -a -s -h and printed the help (exit 0) for
    // what was a file name.
    if (/^-[^-]/.test(token) && token !== '-h') {
      throw usageError(`bt ${spec.name}: unknown option ${token}`, `a name that starts with "-" goes after \`--\`: bt ${spec.name} -- ${token}`);
    }
    if (eq > 0 && valued.has(token.slice(0, eq))) out[i] = `${token.slice(0, eq + 1)}\u0000${token.slice(eq + 1)}`;
    else if (valued.has(token) && i + 1 < out.length) {
      out[i + 1] = `\u0000${out[i + 1]}`;
      i++;
    }
  }
  return out;
}

/** "contentOnly: expected a flag..." as the user typed it: "--content-only: expected a flag...". */
const asFlag = (reason: string): string => reason.replace(/^([a-z][A-Za-z]*)(?=:)/, (name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);

/** After `--` every word is an argument, even one that starts with a dash, as in every Unix tool. */
function argumentsAfterDashDash(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  if (end < 0) return [...argv];
  // Marked as option values are (see protectValues): the parser keeps them as they are, the action unmarks them.
  return [...argv.slice(0, end), ...argv.slice(end + 1).map((a) => `\u0000${a}`)];
}

function unknownCommand(words: readonly string[]): BtError {
  const first = words[0] ?? '';
  // What git and restic users type first.
  const known = new Map([['status', ['bt dir status']], ['ls', ['bt dir status']], ['snapshots', ['bt log FILE', 'bt journal']]]);
  const related = known.get(first) ?? commands.filter((c) => c.name.split(' ')[0] === first).map((c) => `bt ${c.name}`);
  const hint = related.length > 0 ? `did you mean ${related.join(', ')}?` : 'see `bt --help`';
  return usageError(`unknown command "${words.join(' ')}"`, hint);
}

/** Errors from the platform, in the user's terms. */
function translate(err: unknown, command: string | undefined): unknown {
  if (err instanceof BtError) return err;
  if (err instanceof Error && err.name === 'CACError') return parserError(err.message.replace(/`/g, "'").replace(/\u0000/g, ''), command);
  const code = errnoCode(err);
  if (code === 'EEXIST' || code === 'ENOTDIR') return userError(`a file is in the way: ${message(err)}`, 'move it, or choose another path');
  if (code?.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return integrityError(`the database is damaged (${code})`, 'run `bt rebuild`, or move it aside and `bt recover` from a vault');
  }
  if (code?.startsWith('SQLITE_READONLY')) {
    return userError(
      `the database cannot be written (${code})`,
      'check that the data directory (`bt config list`) and bt.db, bt.db-wal and bt.db-shm in it are yours and writable',
    );
  }
  if (code === 'SQLITE_BUSY') return new BtError('busy', 'the database is busy with another bt process', 'try again when it finishes');
  if (code === 'ENOSPC' || code === 'SQLITE_FULL') return userError(`no space left on the device (${message(err)})`, 'free some space; staged work is kept');
  if (code === 'EACCES' || code === 'EPERM') return userError(`permission denied: ${message(err)}`);
  if (code === 'ENOENT') return userError(`not found: ${message(err)}`);
  if (code === 'EISDIR') return userError(`a directory is in the way: ${message(err)}`, 'choose a file path');
  if (code === 'ENAMETOOLONG') return userError(`a name is too long for the filesystem: ${message(err)}`, 'choose a shorter path (for a restore: --output)');
  return err;
}

/** cac's messages with the options as typed (it reports --dry-run as --dryRun) and arguments a command does not take said so. */
function parserError(text: string, command: string | undefined): BtError {
  const help = `see \`bt ${command ?? '<command>'} --help\``;
  const unused = /^Unused args: (.*)$/.exec(text);
  if (unused && command) {
    // A command of one path given several (a shell glob expands to them): said so, not "takes no arguments".
    if (commands.find((c) => c.name === command)?.args !== undefined) {
      return usageError(`bt ${command} takes one path (more were given: ${unused[1]})`, 'give one path (a directory stands for everything under it), or run it once per path');
    }
    const hint = command === 'backup' ? 'it stores everything staged, for every tracked directory; stage a path with `bt add PATH` first' : help;
    return usageError(`bt ${command} takes no arguments (got ${unused[1]})`, hint);
  }
  return usageError(text.replace(/--([a-z]+(?:[A-Z][a-z0-9]*)+)\b/g, (_, name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`), help);
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function main(argv: readonly string[]): Promise<number> {
  makeOwnFilesPrivate();
  const words = argv.slice(2);
  if (words.length === 1 && (words[0] === '--version' || words[0] === '-v')) {
    process.stdout.write(`bt ${BT_VERSION}\n`);
    return ExitCode.ok;
  }
  const dashDash = words.indexOf('--');
  const jsonMode = (dashDash < 0 ? words : words.slice(0, dashDash)).includes('--json');
  const io = consoleIo(jsonMode);
  let commandName: string | undefined;
  try {
    const { spec, argv: folded } = foldCommandWords(words);
    commandName = spec?.name;
    const cli = cac('bt');
    cli.help((sections) => withVersionOption(sections, cli));
    let exit: ExitCode = ExitCode.ok;
    for (const s of commands) {
      const c = cli.command(s.args ? `${s.name} ${s.args}` : s.name, s.description);
      for (const o of s.options ?? []) c.option(o.flags, o.description);
      c.action(async () => {
        const { '--': _rest, json: _json, ...raw } = cli.options;
        const decoded = decodeWith(s.optionsCodec, raw);
        if (!decoded.ok) throw usageError(`bt ${s.name}: option ${asFlag(decoded.reason.replace(/\u0000|\\u0000/g, ''))}`, `see \`bt ${s.name} --help\``);
        exit = await s.run(cli.args.map((a) => String(a).replace(/^\u0000/, '')), decoded.value, io);
      });
    }
    cli.parse(['node', 'bt', ...argumentsAfterDashDash(spec ? protectValues(spec, folded) : folded)], { run: false });
    if (cli.options.help) return ExitCode.ok;
    if (!cli.matchedCommand) {
      if (words.length === 0) {
        cli.outputHelp();
        return ExitCode.usage;
      }
      throw unknownCommand(words);
    }
    await cli.runMatchedCommand();
    return exit;
  } catch (caught: unknown) {
    const err: unknown = translate(caught, commandName);
    const code = exitCodeFor(err);
    if (jsonMode) {
      const e = err instanceof BtError ? { kind: err.kind, message: err.message, hint: err.hint ?? null } : { kind: 'internal', message: describeError(err), hint: null };
      process.stdout.write(`${JSON.stringify({ error: { ...e, exit_code: code } }, null, 2)}\n`);
    }
    process.stderr.write(`bt: error: ${printable(describeError(err))}\n`);
    if (code === ExitCode.internal && err instanceof Error && process.env.BT_DEBUG) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}

/**
 * cac lists -v only when its own version() is used, and leaves any option named "version" out of a command's help (it keeps the name for its own -v), but
 * `bt restore --version N` is real: its Options section is written again with every option, as cac writes it.
 */
type HelpSection = { title?: string; body: string };

function withVersionOption(sections: HelpSection[], cli: CAC): HelpSection[] {
  const command = cli.matchedCommand;
  // bt's own -v (cli.ts answers it before loading any command) is listed in the top-level help.
  if (!command) {
    const body = ['  -h, --help     Display this message', '  -v, --version  Display the version number'].join('\n');
    return sections.map((section) => (section.title === 'Options' ? { ...section, body } : section));
  }
  if (!command.options.some((o) => o.name === 'version')) return sections;
  const options = [...command.options, ...cli.globalCommand.options];
  const width = Math.max(...options.map((o) => o.rawName.length));
  const body = options.map((o) => `  ${o.rawName.padEnd(width)}  ${o.description} `).join('\n');
  return sections.map((section) => (section.title === 'Options' ? { ...section, body } : section));
}
