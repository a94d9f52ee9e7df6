/** Runs the real `syncmgr` bin in child processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { onCleanup } from './server.js';

export const BIN = join(import.meta.dirname, '../../bin/syncmgr.js');
export const KEY = 'cli-secret';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command args` to completion, collecting its output; killed after `killAfterMs` (20 s). Its
 * environment is PATH plus `env` only, so no SYNCMGR_* variable leaks in from the test runner.
 */
export function runProcess(command: string, args: string[], env: Record<string, string> = {}, cwd?: string, killAfterMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the bin to completion. `env` replaces the SYNCMGR_* variables. */
export function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runProcess(process.execPath, [BIN, ...args], env);
}

/** Starts `syncmgr serve` and resolves once it has printed all its listener lines. */
export function serve(args: string[], env: Record<string, string>, listeners = 1): Promise<{ child: ChildProcess; lines: string[]; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.stdout!.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.length >= listeners) resolve({ child, lines, stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

