/** The `syncmgr` command line: argument parsing and output only; the work is the client library's. */
import { Command, CommanderError } from 'commander';
import { SyncmgrError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerDictCommands } from './commands/dict.js';
import { registerPersistenceCommands } from './commands/persistence.js';
import { registerPrimitiveCommands } from './commands/primitives.js';
import { registerServe } from './commands/serve.js';

/** Exit status for bad usage (unknown flag, missing argument, bad value), as in most CLIs. */
const EXIT_USAGE = 2;

export interface CliIO {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const processIO: CliIO = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

/** Runs the CLI on `argv` (as process.argv: node, script, args...) and resolves with the exit status. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const program = new Command('syncmgr')
    .description('shared, synchronized objects for coordinating processes')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text.replace(/\n$/, '')),
      writeErr: (text) => io.stderr(text.replace(/\n$/, '')),
    });
  registerServe(program, io.stdout, io.stderr);
  registerDictCommands(program, io.stdout);
  registerPrimitiveCommands(program, io.stdout, io.stderr);
  registerPersistenceCommands(program, io.stdout);
  try {
    process.exitCode = undefined;
    await program.parseAsync(argv);
    // Commands that pass a status through (lock) or report a soft failure set process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end through here too, with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    io.stderr(`syncmgr: ${describe(err)}`);
    return err instanceof SyncmgrError && err.code === 'CONFIG_ERROR' ? EXIT_USAGE : 1;
  }
}

function describe(err: unknown): string {
  if (err instanceof SyncmgrError) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}
