// What the machine is doing, from /proc: the CPU time of one process, of this run's own
// process tree, and of everything else; and the wait for a quiet machine before each step.
//
// "Ours" is this process and every process below it (the servers, herald-bench,
// redis-benchmark): their utime+stime plus cutime+cstime, so that a child that exits and is
// reaped within a sample moves from its own count into its parent's without being lost.
// "Others" is the machine's busy time (/proc/stat: user, nice, system; not idle, iowait,
// irq, softirq or steal) minus ours.
import {execFileSync} from 'node:child_process';
import {readFileSync, readdirSync} from 'node:fs';
import os from 'node:os';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

// Fields of /proc/PID/stat after the command name: [0] state, [1] ppid, [11] utime,
// [12] stime, [13] cutime, [14] cstime (man 5 proc, fields 3, 4, 14-17).
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

// CPU seconds of `pid` so far: its own threads plus the children it has reaped (Redis's
// BGSAVE and AOF rewrite children), or 0 once it is gone.
export function cpuSeconds(pid) {
  const f = statFields(pid);
  if (!f) return 0;
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
}

// Resident set of `pid` in bytes (VmRSS of /proc/PID/status).
export function rssBytes(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

// Interrupt and softirq time is left out: no process is charged for it, and most of it during
// a step is the loopback traffic of this run's own clients and servers.
function machineBusyTicks() {
  const [, user, nice, system] =
      readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return user + nice + system;
}

// Ticks used by process.pid and its descendants.
function ourTicks() {
  const parent = new Map();
  const ticks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (!f) continue;
    parent.set(Number(name), Number(f[1]));
    ticks.set(Number(name), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    for (let p = pid; p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        sum += t;
        break;
      }
      if (!parent.has(p)) break;
    }
  }
  return sum;
}

// A reading to take before and after an interval; othersCores() of two readings is the CPU
// that other processes used in between, in cores (1 = one core busy all the time).
export function reading() {
  return {at: performance.now(), busy: machineBusyTicks(), ours: ourTicks()};
}

export function othersCores(before, after) {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return 0;
  const others = (after.busy - before.busy) - (after.ours - before.ours);
  return Math.max(0, others / TICKS / seconds);
}

// Waits until other processes used less than `threshold` cores over one `windowMs` sample, for
// at most `timeoutMs`. Resolves to {quiet, waitedMs, others, since}: others is the last
// sample's cores, since the reading at its start (to measure a short step together with it).
// `onWait(others)` is called once when the first sample is busy and the wait goes on.
export async function waitQuiet({threshold = 0.15, windowMs = 1000, timeoutMs = 60000,
                                 onWait = () => {}} = {}) {
  const start = performance.now();
  for (let first = true; ; first = false) {
    const since = reading();
    await sleep(windowMs);
    const others = othersCores(since, reading());
    const waitedMs = performance.now() - start;
    if (others < threshold) return {quiet: true, waitedMs, others, since};
    if (waitedMs >= timeoutMs) return {quiet: false, waitedMs, others, since};
    if (first) onWait(others);
  }
}

export function describeMachine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism ? os.availableParallelism() : cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
  };
}
