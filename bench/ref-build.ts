/**
 * `--compare-ref REF`: a build of another commit of this repository, in a temporary directory,
 * whose server the bench starts beside this working tree's. The commit's files come out of
 * `git archive` (the repository's worktrees and refs are left as they are), then `npm ci
 * --prefer-offline` (from the local npm cache) and `npm run build`. The directory goes away with
 * {@link RefBuild.remove}, when the bench process exits, and on Ctrl-C or SIGTERM.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress } from './cli-args.js';
import type { SyncmgrBuild } from './subjects.js';

export interface RefBuild extends SyncmgrBuild {
  /** The full commit id REF resolved to. */
  commit: string;
  /** Removes the temporary directory (also done on exit and on SIGINT/SIGTERM/SIGHUP). */
  remove(): void;
}

/** A REF that git cannot resolve to a commit, or a step of its build that failed. */
export class RefBuildError extends Error {
  override get name(): string {
    return 'RefBuildError';
  }
}

/** The subject name of a ref's build: `syncmgr@` and the commit's short id. */
export function refSubjectName(commit: string): string {
  return `syncmgr@${commit.slice(0, 7)}`;
}

/** The commit `ref` names in the repository at `repoRoot`. @throws RefBuildError when there is none. */
export function resolveCommit(repoRoot: string, ref: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new RefBuildError(`--compare-ref ${ref}: git finds no such commit in ${repoRoot}; give a commit id, branch or tag (\`git log --oneline\`)`);
  }
}

/** Kills a build step's whole process group and resolves once the step has exited (or after 5 s). */
function stopStep(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(resolve, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  });
}

/** The signals that end the bench early: the build directory must not outlive them. */
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/**
 * Builds `ref` of the repository at `repoRoot` in a fresh temporary directory.
 * @throws RefBuildError when the ref is unknown or a step fails (the directory is removed then).
 */
export async function buildRef(repoRoot: string, ref: string): Promise<RefBuild> {
  const commit = resolveCommit(repoRoot, ref);
  const root = mkdtempSync(join(tmpdir(), 'syncmgr-ref-'));
  let step: ChildProcess | undefined;
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    // Handlers stay until the directory is gone: a signal arriving meanwhile waits for rmSync (a
    // synchronous call), and its handler finds nothing left to do.
    rmSync(root, { recursive: true, force: true });
    removed = true;
    process.off('exit', remove);
    for (const signal of Object.keys(SIGNALS)) process.off(signal, onSignal);
  };
  // On a signal: stop the build step and wait for it (a compiler left running would write into
  // the directory again), remove the directory, and exit as the signal would have (process.exit,
  // unlike dying of the signal, also runs the 'exit' hooks that stop the bench's servers).
  function onSignal(signal: keyof typeof SIGNALS): void {
    const stopped = step === undefined ? Promise.resolve() : stopStep(step);
    void stopped.then(() => {
      remove();
      process.exit(128 + SIGNALS[signal]);
    });
  }
  process.once('exit', remove);
  for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.once(signal, onSignal);

  const run = (what: string, command: string, args: readonly string[], cwd: string): Promise<void> =>
    new Promise((resolve, reject) => {
      progress(`compare-ref: ${what}...`);
      // In a process group of its own, so that stopping it reaches npm's children (tsc) too.
      const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      step = child;
      const output: Buffer[] = [];
      child.stdout!.on('data', (chunk: Buffer) => output.push(chunk));
      child.stderr!.on('data', (chunk: Buffer) => output.push(chunk));
      child.once('error', (err) => reject(new RefBuildError(`compare-ref: ${what} could not start: ${err.message}`)));
      child.once('close', (code, signal) => {
        step = undefined;
        if (code === 0) return resolve();
        const tail = Buffer.concat(output).toString('utf8').trimEnd().split('\n').slice(-20).join('\n');
        reject(new RefBuildError(`compare-ref: ${what} failed (${signal ?? `exit status ${code}`}) in ${cwd}:\n${tail}`));
      });
    });

  try {
    const short = commit.slice(0, 7);
    // `git archive` exports the commit's tree without touching the repository's worktree list.
    await run(`exporting ${short}`, 'sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'sh', commit, root], repoRoot);
    // --ignore-scripts: `prepare` would build once more; the build is the next step.
    await run(`npm ci in ${root}`, 'npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], root);
    await run(`npm run build of ${short}`, 'npm', ['run', 'build'], root);
  } catch (err) {
    remove();
    throw err;
  }
  return { root, name: refSubjectName(commit), commit, remove };
}
