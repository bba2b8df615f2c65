// Fault injection for the crash-safety tests: BT_FAULT="point:N[,point:N]" kills bt with SIGKILL the Nth
// time it reaches `point`. Unset (always, outside tests), every call is one comparison.
const armed = new Map<string, number>();
for (const part of (process.env.BT_FAULT ?? '').split(',')) {
  const m = /^([a-z-]+):(\d+)$/.exec(part.trim());
  if (m) armed.set(m[1]!, Number(m[2]));
}
const reached = new Map<string, number>();

/**
 * `chunk`: after each chunk a vault stored (ADR 0012), to kill a backup in the middle of one large file.
 * `rebuild`: after each event a rebuild replayed. `replay-read`: after each page a journal reader thread
 * posted (off-thread-replay.ts).
 */
export type FaultPoint = 'append' | 'append-mid' | 'stage' | 'put' | 'chunk' | 'commit' | 'segment' | 'recover' | 'rebuild' | 'replay-read';

export function faultPoint(name: FaultPoint): void {
  if (armed.size === 0) return;
  const n = (reached.get(name) ?? 0) + 1;
  reached.set(name, n);
  if (armed.get(name) === n) process.kill(process.pid, 'SIGKILL');
}
