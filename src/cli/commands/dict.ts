/** `syncmgr get|set|incr|del|keys|dump`: one dict operation each, printed for shell use. */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { type Client, connect } from '../../client/client.js';
import type { DictProxy } from '../../client/proxies/dict.js';
import { ConfigurationError, SyncmgrError } from '../../errors.js';
import { jsonEqual } from '../../util/json-equal.js';
import { addConnectionFlags, type ConnectionFlags, toConnectOptions } from '../connection-options.js';
import { dumpToFile } from './persistence.js';

interface DictFlags extends ConnectionFlags {
  dict: string;
  raw?: boolean;
  by?: number;
  json?: boolean;
  string?: boolean;
  pretty?: boolean;
}

/**
 * A value given on the command line: by default JSON, or the text as a string when it is not JSON
 * (`set name alice` just works); `--json` refuses text that is not JSON, `--string` never parses.
 */
export function parseValue(text: string, as: { json?: boolean; string?: boolean } = {}): unknown {
  if (as.json === true && as.string === true) throw new ConfigurationError('--json and --string exclude each other');
  if (as.string === true) return text;
  try {
    return JSON.parse(text);
  } catch (err) {
    if (as.json === true) throw new ConfigurationError(`not valid JSON (--json): ${(err as Error).message}; nothing was stored`);
    return text;
  }
}

/** JSON, so output parses back; `--raw` prints strings without quotes. */
export function formatValue(value: unknown, raw = false): string {
  return raw && typeof value === 'string' ? value : JSON.stringify(value);
}

function parseNumber(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new ConfigurationError(`not a number: ${text}`);
  return value;
}

async function withDict<T>(flags: DictFlags, run: (dict: DictProxy, client: Client) => Promise<T>): Promise<T> {
  const client = await connect(toConnectOptions(flags));
  try {
    return await run(client.dict(flags.dict), client);
  } finally {
    await client.close();
  }
}

export function registerDictCommands(program: Command, stdout: (line: string) => void, stdoutIsTerminal: boolean): void {
  const command = (spec: string, description: string): Command =>
    addConnectionFlags(program.command(spec).description(description)).option('--dict <name>', 'which shared dict', 'default');

  command('get <key>', 'print the value at KEY as JSON (exit 1 if missing)')
    .option('--raw', 'print a string value without quotes')
    .option('--json', 'print the value as JSON, always (the default; excludes --raw)')
    .action((key: string, flags: DictFlags) => {
      if (flags.json === true && flags.raw === true) throw new ConfigurationError('--json and --raw exclude each other');
      return withDict(flags, async (dict) => {
        // One request, so presence and value come from the same instant: a stored value never
        // equals this fresh marker.
        const missing = { 'syncmgr-missing': randomUUID() };
        const value = await dict.get(key, missing);
        if (jsonEqual(value, missing)) throw new SyncmgrError('KEY_NOT_FOUND', `key ${JSON.stringify(key)} not found in dict ${JSON.stringify(flags.dict)}`);
        stdout(formatValue(value, flags.raw));
      });
    });

  command('set <key> <value>', 'set KEY to VALUE (JSON, or a plain string when it does not parse)')
    .option('--json', 'VALUE must be JSON: fail (exit 2, nothing stored) if it does not parse')
    .option('--string', 'store VALUE as a string, as it is, even when it parses as JSON')
    .action((key: string, value: string, flags: DictFlags) => {
      const parsed = parseValue(value, flags);
      return withDict(flags, (dict) => dict.set(key, parsed));
    });

  command('incr <key>', 'add to the number at KEY (missing counts as 0) and print the new value')
    .option('--by <n>', 'amount to add', parseNumber)
    .action((key: string, flags: DictFlags) =>
      withDict(flags, async (dict) => stdout(String(await dict.incr(key, flags.by)))),
    );

  command('del <key>', 'delete KEY; print true if it existed, false if not').action((key: string, flags: DictFlags) =>
    withDict(flags, async (dict) => stdout(String(await dict.delete(key)))),
  );

  command('keys', 'print every key, one per line')
    .option('--json', 'print them as one JSON array (for keys holding newlines, or a program)')
    .action((flags: DictFlags) =>
      withDict(flags, async (dict) => {
        const keys = await dict.keys();
        if (flags.json === true) stdout(JSON.stringify(keys));
        else for (const key of keys) stdout(key);
      }),
    );

  command('dump', 'print the whole dict as one JSON object, indented on a terminal, one line otherwise (--out FILE: every object, for restore)')
    .option('--out <file>', 'write a consistent dump of EVERY object on the server to FILE (see syncmgr restore)')
    .option('--pretty', 'indent the JSON, even when stdout is not a terminal')
    .option('--json', 'one line of JSON, even on a terminal')
    .action((flags: DictFlags & { out?: string }) => {
      if (flags.out !== undefined) return dumpToFile(flags, flags.out, stdout);
      return withDict(flags, async (dict) => {
        // A null-prototype object keeps a key named __proto__ as an ordinary property.
        const object: Record<string, unknown> = Object.create(null);
        for (const [key, value] of await dict.items()) object[key] = value;
        const indent = flags.json !== true && (flags.pretty === true || stdoutIsTerminal);
        stdout(indent ? JSON.stringify(object, null, 2) : JSON.stringify(object));
      });
    });
}
