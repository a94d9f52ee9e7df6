/** `syncmgr list append|get|pop|len|slice`: a shared list from the shell, values as JSON. */
import type { Command } from 'commander';
import { connect } from '../../client/client.js';
import type { ListProxy } from '../../client/proxies/list.js';
import { ConfigurationError } from '../../errors.js';
import { addConnectionFlags, type ConnectionFlags, toConnectOptions } from '../connection-options.js';
import { formatValue, parseValue } from './dict.js';

interface ListFlags extends ConnectionFlags {
  raw?: boolean;
  json?: boolean;
  string?: boolean;
}

function parseIndex(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value)) throw new ConfigurationError(`not an index (a whole number, negative from the end): ${text}`);
  return value;
}

async function withList<T>(name: string, flags: ListFlags, run: (list: ListProxy) => Promise<T>): Promise<T> {
  const client = await connect(toConnectOptions(flags));
  try {
    return await run(client.list(name));
  } finally {
    await client.close();
  }
}

export function registerListCommands(program: Command, stdout: (line: string) => void): void {
  const list = program.command('list').description('append to, read or pop from a shared list');
  const command = (spec: string, description: string): Command => addConnectionFlags(list.command(spec).description(description));

  command('append <name> <value>', 'append VALUE (JSON, or a plain string) to list NAME; print the new length')
    .option('--json', 'VALUE must be JSON: fail (exit 2) if it does not parse')
    .option('--string', 'append VALUE as a string, even when it parses as JSON')
    .action((name: string, value: string, flags: ListFlags) => {
      const parsed = parseValue(value, flags);
      return withList(name, flags, async (shared) => stdout(String(await shared.append(parsed))));
    });
  command('get <name> <index>', 'print the item at INDEX as JSON (negative: from the end; exit 1 if none)')
    .option('--raw', 'print a string item without quotes')
    .action((name: string, index: string, flags: ListFlags) =>
      withList(name, flags, async (shared) => stdout(formatValue(await shared.get(parseIndex(index)), flags.raw))),
    );
  command('pop <name> [index]', 'remove the item at INDEX (default: the last) and print it as JSON')
    .option('--raw', 'print a string item without quotes')
    .action((name: string, index: string | undefined, flags: ListFlags) =>
      withList(name, flags, async (shared) => stdout(formatValue(await shared.pop(index === undefined ? undefined : parseIndex(index)), flags.raw))),
    );
  command('len <name>', 'print the length of list NAME').action((name: string, flags: ListFlags) =>
    withList(name, flags, async (shared) => stdout(String(await shared.len()))),
  );
  command('slice <name> [start] [end]', 'print items START to END-1 (Python slice rules; default all) as one JSON array').action(
    (name: string, start: string | undefined, end: string | undefined, flags: ListFlags) =>
      withList(name, flags, async (shared) =>
        stdout(JSON.stringify(await shared.slice(start === undefined ? undefined : parseIndex(start), end === undefined ? undefined : parseIndex(end)))),
      ),
  );
}
