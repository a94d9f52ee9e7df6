/**
 * Process helpers shared by the comparison peers and the scale figures: free ports, stopping a
 * child by its PID, reading a process's resident memory, and the open-file limit.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The first of `paths` that exists and is executable, or undefined. */
export function findExecutable(paths: readonly string[]): string | undefined {
  for (const path of paths) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return undefined;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Children to kill if the bench process exits first (one 'exit' listener for all of them). */
const orphans = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills `child` with SIGKILL if the bench process exits first; returns what undoes that. */
export function killOnExit(child: ChildProcess): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const orphan of orphans) if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
    });
  }
  orphans.add(child);
  return () => void orphans.delete(child);
}

/** Resident set size of process `pid` in bytes (VmRSS in /proc/PID/status). */
export function rssBytes(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

/**
 * The anonymous part of a process's RSS (RssAnon): its heap and other private memory, without the
 * pages of its executable and libraries (RssFile), which every process of that program shares.
 */
export function anonRssBytes(pid: number): number {
  return statusBytes(pid, 'RssAnon');
}

function statusBytes(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  if (match === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** This process's soft and hard limits on open files (from /proc/self/limits). */
export function openFileLimits(): { soft: number; hard: number } {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const parse = (text: string | undefined): number => (text === undefined || text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text));
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}

/**
 * The command and arguments that run `command args` with a soft open-file limit of at least
 * `wanted` (capped at the hard limit), through `sh -c 'ulimit -n N; exec "$@"'`, or unchanged when
 * the limit is already enough.
 */
export function withOpenFileLimit(command: string, args: readonly string[], wanted: number): [string, string[]] {
  const { soft, hard } = openFileLimits();
  if (soft >= wanted) return [command, [...args]];
  const target = Math.min(wanted, hard);
  return ['/bin/sh', ['-c', `ulimit -n ${target} && exec "$@"`, 'sh', command, ...args]];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

let clockTicks: number | undefined;

/** CPU time process `pid` (all its threads) has used so far, in seconds: user and system. */
export function cpuSeconds(pid: number): { user: number; system: number } {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / clockTicks, system: Number(fields[12]) / clockTicks };
}
