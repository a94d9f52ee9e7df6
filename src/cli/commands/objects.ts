/** `syncmgr objects`: what the server holds, one object a line (type, name, item count). */
import type { Command } from 'commander';
import { connect } from '../../client/client.js';
import { addConnectionFlags, type ConnectionFlags, toConnectOptions } from '../connection-options.js';
import { MAX_DUMP_BYTES } from './persistence.js';

export function registerObjectsCommand(program: Command, stdout: (line: string) => void): void {
  addConnectionFlags(
    program.command('objects').description('list every object on the server: TYPE<tab>NAME<tab>N items (reads a whole snapshot, as dump --out does)'),
  )
    .option('--json', 'print one JSON array of {"type", "name", "items"} (items: null for types without contents)')
    .action(async (flags: ConnectionFlags & { json?: boolean }) => {
      // The server has no listing operation: a snapshot is one consistent view of every object.
      const client = await connect({ ...toConnectOptions(flags), maxFrameBytes: MAX_DUMP_BYTES });
      let objects;
      try {
        objects = (await client.snapshot()).objects.map(({ type, name, items }) => ({ type, name, items: items === null ? null : items.length }));
      } finally {
        await client.close();
      }
      if (flags.json === true) {
        stdout(JSON.stringify(objects));
        return;
      }
      for (const { type, name, items } of objects) stdout(items === null ? `${type}\t${name}` : `${type}\t${name}\t${items} items`);
    });
}
