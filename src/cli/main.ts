/** The `syncmgr` command line: argument parsing and output only; the work is the client library's. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerDictCommands } from './commands/dict.js';
import { registerListCommands } from './commands/list.js';
import { registerObjectsCommand } from './commands/objects.js';
import { registerPersistenceCommands } from './commands/persistence.js';
import { registerPrimitiveCommands } from './commands/primitives.js';
import { registerPing } from './commands/ping.js';
import { registerServe } from './commands/serve.js';
import { describeError, EXIT, exitStatusOf } from './exit-status.js';

export interface CliIO {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Whether stdout is a terminal (a person reads it) rather than a pipe or file (a program does). */
  stdoutIsTerminal?: boolean;
}

const processIO: CliIO = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  stdoutIsTerminal: process.stdout.isTTY === true,
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
  registerDictCommands(program, io.stdout, io.stdoutIsTerminal === true);
  registerPrimitiveCommands(program, io.stdout, io.stderr);
  registerListCommands(program, io.stdout);
  registerPersistenceCommands(program, io.stdout);
  registerPing(program, io.stdout);
  registerObjectsCommand(program, io.stdout);
  try {
    process.exitCode = undefined;
    await program.parseAsync(argv);
    // Commands that pass a status through (lock) or report a soft failure set process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end through here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    io.stderr(`syncmgr: ${describeError(err)}`);
    return exitStatusOf(err);
  }
}
