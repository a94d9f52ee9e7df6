/**
 * `syncmgr lock` and `semaphore` (run a command holding it), `queue put|get|size|join|task-done`,
 * `event set|clear|wait`, `barrier wait`.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { type Client, connect } from '../../client/client.js';
import { ConfigurationError, SyncmgrError } from '../../errors.js';
import { addConnectionFlags, type ConnectionFlags, parseCount, parseWaitSeconds, toConnectOptions } from '../connection-options.js';
import { formatValue, parseValue } from './dict.js';

/** `timeout` is the wait's, in seconds; connecting has its own default deadline. */
interface LockFlags extends Omit<ConnectionFlags, 'timeout'> {
  timeout?: number;
  conflictExitCode: number;
}

interface WaitFlags extends Omit<ConnectionFlags, 'timeout'> {
  timeout?: number;
  raw?: boolean;
}

function waitOptions(flags: { timeout?: number }): { timeout: number } | undefined {
  return flags.timeout === undefined ? undefined : { timeout: flags.timeout };
}

function connectFor(flags: WaitFlags | LockFlags) {
  return connect(toConnectOptions({ ...flags, timeout: undefined }));
}

function parseExitCode(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new ConfigurationError(`not an exit status (0-255): ${text}`);
  return value;
}

/** Exit status of a child, the shell's way: its code, or 128 + the signal's number. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
}

/** Why a command could not be started, what to do, and the errno code. */
function cannotRun(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'command not found; check its name and $PATH [ENOENT]';
  if (err.code === 'EACCES') return 'permission denied; check that it is executable [EACCES]';
  return `${err.message} [${err.code ?? 'ERROR'}]`;
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** A lock grant or a semaphore permit, as a command runs holding it. */
interface Hold {
  readonly signal: AbortSignal;
  readonly lost: boolean;
  release(): Promise<void>;
}

/** What `lock` and `semaphore` hold: `what` names it in messages ("lock \"build\""). */
interface Holding<H extends Hold> {
  what: string;
  acquire(client: Client, options: { timeout?: number; signal: AbortSignal }): Promise<H>;
  /** Variables the command is given besides the environment. */
  env(hold: H): Record<string, string>;
}

/**
 * Acquires, runs the command holding it and resolves with the exit status to use. Stops the
 * command if the hold is lost while it runs: it would no longer be protected.
 */
async function runHolding<H extends Hold>(
  holding: Holding<H>,
  argv: string[],
  flags: LockFlags,
  signal: AbortSignal,
  stderr: (line: string) => void,
  onStart: (child: ReturnType<typeof spawn>) => void,
): Promise<number> {
  const client = await connectFor(flags);
  try {
    let held: H;
    try {
      held = await holding.acquire(client, { ...waitOptions(flags), signal });
    } catch (err) {
      if (err instanceof SyncmgrError && err.code === 'TIMEOUT') {
        stderr(`syncmgr: ${holding.what} not acquired within ${flags.timeout} s [TIMEOUT]`);
        return flags.conflictExitCode;
      }
      throw err;
    }
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...holding.env(held) } });
    onStart(child);
    held.signal.addEventListener('abort', () => {
      stderr(`syncmgr: ${holding.what} was lost while the command ran; stopping it`);
      child.kill('SIGTERM');
    });
    const status = await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        stderr(`syncmgr: cannot run ${argv[0]}: ${cannotRun(err as NodeJS.ErrnoException)}`);
        resolve(127);
      });
      child.on('exit', (code, exitSignal) => resolve(exitStatus(code, exitSignal)));
    });
    if (held.lost) return status === 0 ? 1 : status;
    await held.release();
    return status;
  } finally {
    await client.close();
  }
}

/**
 * The action of `lock` and `semaphore`: sets process.exitCode. Signals are ours to handle from the
 * start: before the command runs, one stops the wait (and gives back what was just granted);
 * after, it is forwarded to the command.
 */
async function holdAndRun<H extends Hold>(holding: Holding<H>, argv: string[], flags: LockFlags, stderr: (line: string) => void): Promise<void> {
  let child: ReturnType<typeof spawn> | undefined;
  let caught: NodeJS.Signals | undefined;
  const stopWaiting = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (child !== undefined) {
      child.kill(signal);
    } else {
      caught ??= signal;
      stopWaiting.abort();
    }
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    process.exitCode = await runHolding(holding, argv, flags, stopWaiting.signal, stderr, (started) => {
      child = started;
    });
  } catch (err) {
    if (caught === undefined) throw err;
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
  if (caught !== undefined && child === undefined) process.exitCode = exitStatus(null, caught);
}

export function registerPrimitiveCommands(program: Command, stdout: (line: string) => void, stderr: (line: string) => void): void {
  const noCallTimeout = { callTimeout: false };
  addConnectionFlags(
    program
      .command('lock <name> <command...>')
      .description('run COMMAND while holding the lock NAME, like flock(1): syncmgr lock build -- make all'),
    noCallTimeout,
  )
    .option('--timeout <seconds>', 'give up if the lock is not acquired within this many seconds (0: try once, do not wait)', parseWaitSeconds)
    .option('--conflict-exit-code <n>', 'exit status when the lock is not acquired in time', parseExitCode, 1)
    .action((name: string, argv: string[], flags: LockFlags) =>
      holdAndRun(
        {
          what: `lock ${JSON.stringify(name)}`,
          acquire: (client, options) => client.lock(name).acquire(options),
          // The command learns the fence, so it can hand it to resources that refuse stale holders.
          env: (held) => ({ SYNCMGR_LOCK_NAME: name, SYNCMGR_LOCK_FENCE: String(held.fence) }),
        },
        argv,
        flags,
        stderr,
      ),
    );

  addConnectionFlags(
    program
      .command('semaphore <name> <command...>')
      .description('run COMMAND holding one permit of semaphore NAME: at most --value commands at once'),
    noCallTimeout,
  )
    .option('--value <n>', 'permits of the semaphore when this creates it (default 1)', parseCount)
    .option('--timeout <seconds>', 'give up if no permit comes within this many seconds (0: try once, do not wait)', parseWaitSeconds)
    .option('--conflict-exit-code <n>', 'exit status when no permit comes in time', parseExitCode, 1)
    .action((name: string, argv: string[], flags: LockFlags & { value?: number }) =>
      holdAndRun(
        {
          what: `a permit of semaphore ${JSON.stringify(name)}`,
          acquire: (client, options) => client.semaphore(name, flags.value).acquire(options),
          env: () => ({ SYNCMGR_SEMAPHORE_NAME: name }),
        },
        argv,
        flags,
        stderr,
      ),
    );

  addConnectionFlags(
    program.command('barrier').command('wait <name>').description('wait at barrier NAME until --parties callers arrived; print the arrival index'),
    noCallTimeout,
  )
    .option('--parties <n>', 'callers the barrier waits for (needed when this creates it)', parseCount)
    .option('--timeout <seconds>', 'give up (exit 1, BROKEN_BARRIER: the barrier breaks for all) after this many seconds', parseWaitSeconds)
    .action(async (name: string, flags: WaitFlags & { parties?: number }) => {
      const client = await connectFor(flags);
      try {
        stdout(String(await client.barrier(name, flags.parties).wait(waitOptions(flags))));
      } finally {
        await client.close();
      }
    });

  const queue = program.command('queue').description('put to or get from a shared queue');
  addConnectionFlags(queue.command('put <name> <value>').description('put VALUE (JSON, or a plain string) on queue NAME'), noCallTimeout)
    .option('--timeout <seconds>', 'give up (exit 1, QUEUE_FULL) if the queue stays full this long', parseWaitSeconds)
    .action(async (name: string, value: string, flags: WaitFlags) => {
      const client = await connectFor(flags);
      try {
        await client.queue(name).put(parseValue(value), waitOptions(flags));
      } finally {
        await client.close();
      }
    });
  addConnectionFlags(queue.command('get <name>').description('take the oldest item of queue NAME and print it as JSON'), noCallTimeout)
    .option('--timeout <seconds>', 'give up (exit 1, QUEUE_EMPTY) if nothing arrives this long', parseWaitSeconds)
    .option('--raw', 'print a string item without quotes')
    .action(async (name: string, flags: WaitFlags) => {
      const client = await connectFor(flags);
      try {
        const item = await client.queue(name).get(waitOptions(flags));
        stdout(formatValue(item, flags.raw));
      } finally {
        await client.close();
      }
    });

  addConnectionFlags(queue.command('size <name>').description('print the number of items in queue NAME')).action(async (name: string, flags: ConnectionFlags) => {
    const client = await connect(toConnectOptions(flags));
    try {
      stdout(String(await client.queue(name).size()));
    } finally {
      await client.close();
    }
  });
  addConnectionFlags(queue.command('task-done <name>').description('mark one item taken from queue NAME as processed (for join)')).action(
    async (name: string, flags: ConnectionFlags) => {
      const client = await connect(toConnectOptions(flags));
      try {
        await client.queue(name).taskDone();
      } finally {
        await client.close();
      }
    },
  );
  addConnectionFlags(queue.command('join <name>').description('wait until every item put on queue NAME was marked done (exit 1 if --timeout passes first)'), noCallTimeout)
    .option('--timeout <seconds>', 'give up after this many seconds', parseWaitSeconds)
    .action(async (name: string, flags: WaitFlags) => {
      const client = await connectFor(flags);
      try {
        if (!(await client.queue(name).join(waitOptions(flags)))) {
          stderr(`syncmgr: queue ${JSON.stringify(name)} has unfinished items after ${flags.timeout} s [TIMEOUT]`);
          process.exitCode = 1;
        }
      } finally {
        await client.close();
      }
    });

  const event = program.command('event').description('set, clear or wait for a shared event');
  for (const op of ['set', 'clear'] as const) {
    addConnectionFlags(event.command(`${op} <name>`).description(`${op} event NAME`)).action(async (name: string, flags: ConnectionFlags) => {
      const client = await connect(toConnectOptions(flags));
      try {
        await client.event(name)[op]();
      } finally {
        await client.close();
      }
    });
  }
  addConnectionFlags(event.command('wait <name>').description('wait until event NAME is set (exit 1 if --timeout passes first)'), noCallTimeout)
    .option('--timeout <seconds>', 'give up after this many seconds', parseWaitSeconds)
    .action(async (name: string, flags: WaitFlags) => {
      const client = await connectFor(flags);
      try {
        const set = await client.event(name).wait(waitOptions(flags));
        if (!set) {
          stderr(`syncmgr: event ${JSON.stringify(name)} not set within ${flags.timeout} s [TIMEOUT]`);
          process.exitCode = 1;
        }
      } finally {
        await client.close();
      }
    });
}
