/** `syncmgr ping`: a health check, with the round trip, the server's version and its instance. */
import type { Command } from 'commander';
import { connect } from '../../client/client.js';
import { addConnectionFlags, type ConnectionFlags, toConnectOptions } from '../connection-options.js';

export function registerPing(program: Command, stdout: (line: string) => void): void {
  addConnectionFlags(program.command('ping').description('check that the server answers: round trip, version, instance (exit 3 when down)'))
    .option('--json', 'print {"address", "ms", "server", "instance", "protocol"} as JSON')
    .action(async (flags: ConnectionFlags & { json?: boolean }) => {
      const client = await connect(toConnectOptions(flags));
      try {
        const started = process.hrtime.bigint();
        await client.ping();
        const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
        const { server, instance, protocol } = client.server;
        stdout(
          flags.json === true
            ? JSON.stringify({ address: client.address, ms, server, instance, protocol })
            : `pong from ${client.address} in ${ms} ms: ${server}, instance ${instance}`,
        );
      } finally {
        await client.close();
      }
    });
}
