/**
 * The Node floor, as a comparison peer: a server and a client that do the least these workloads
 * need (bench/peers/floor-server.ts has the protocol), with Node's own sockets at both ends, to
 * show what any Node server driven by a Node client costs before it does any work of its own.
 * The client reads into one reused buffer (net's `onread`) and keeps one request in flight;
 * each call is a promise the loop awaits, as with the other peers' clients.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchClient, RunningSubject, Subject, Target } from '../subjects.js';
import { killOnExit, stopChild } from './proc.js';
import { FLOOR_ANSWER_BYTES, FLOOR_FIXED_BYTES, FLOOR_HEADER_BYTES } from './floor-protocol.js';

const SERVER_SCRIPT = fileURLToPath(new URL('./floor-server.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;

/** One connection to the floor server: requests in order, answers matched first in, first out. */
class FloorConnection {
  private readonly waiting: Array<{ resolve(value: number): void; reject(err: Error): void }> = [];
  private readonly held = Buffer.alloc(FLOOR_ANSWER_BYTES);
  private heldBytes = 0;

  private constructor(private readonly socket: Socket) {
    // A floor server that goes away fails the calls waiting on it instead of leaving them hanging.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      for (const call of this.waiting.splice(0)) call.reject(new Error('the floor server closed the connection'));
    });
  }

  static open(port: number): Promise<FloorConnection> {
    return new Promise((resolve, reject) => {
      let connection: FloorConnection | undefined;
      const socket = connect({
        host: '127.0.0.1',
        port,
        noDelay: true,
        onread: {
          buffer: Buffer.allocUnsafe(64 * 1024),
          callback: (nread, buffer) => {
            connection!.onRead(buffer as Buffer, nread);
            return true;
          },
        },
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        connection = new FloorConnection(socket);
        resolve(connection);
      });
    });
  }

  call(op: string, key: string, value = 0): Promise<number> {
    const frame = Buffer.allocUnsafe(FLOOR_HEADER_BYTES + FLOOR_FIXED_BYTES + key.length);
    frame.writeUInt32BE(FLOOR_FIXED_BYTES + key.length, 0);
    frame[FLOOR_HEADER_BYTES] = op.charCodeAt(0);
    frame.writeDoubleBE(value, FLOOR_HEADER_BYTES + 1);
    frame.write(key, FLOOR_HEADER_BYTES + FLOOR_FIXED_BYTES, 'latin1');
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(frame);
    });
  }

  /** Answers are 12 bytes each; a read may end inside one. */
  private onRead(buffer: Buffer, nread: number): void {
    let offset = 0;
    while (offset < nread) {
      const take = Math.min(FLOOR_ANSWER_BYTES - this.heldBytes, nread - offset);
      buffer.copy(this.held, this.heldBytes, offset, offset + take);
      this.heldBytes += take;
      offset += take;
      if (this.heldBytes === FLOOR_ANSWER_BYTES) {
        this.heldBytes = 0;
        this.waiting.shift()!.resolve(this.held.readDoubleBE(FLOOR_HEADER_BYTES));
      }
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }
}

export const floorSubject: Subject & { start(): Promise<RunningSubject & { pid: number }> } = {
  name: 'floor',

  async start() {
    const child = spawn(process.execPath, [SERVER_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    const undoKill = killOnExit(child);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the floor server printed no port within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once('exit', (code) => reject(new Error(`the floor server exited (status ${code}) before listening`)));
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        const match = /^listening on (\d+)$/.exec(line);
        if (match === null) reject(new Error(`unexpected line from the floor server: ${line}`));
        else resolve(Number(match[1]));
      });
    }).catch((err: unknown) => {
      child.kill('SIGKILL');
      undoKill();
      throw err;
    });
    return {
      name: 'floor',
      pid: child.pid!,
      description: `Node floor: node bench/peers/floor-server.js on 127.0.0.1:${port} (pid ${child.pid}), binary frames, no work beyond counting and FIFO locks, no auth`,
      targets: { tcp: { subject: 'floor', transport: 'tcp', url: `floor://127.0.0.1:${port}` } },
      async stop() {
        await stopChild(child);
        undoKill();
      },
    };
  },

  async open(target: Target): Promise<BenchClient> {
    const connection = await FloorConnection.open(Number(new URL(target.url).port));
    const orNull = (value: number): number | null => (Number.isNaN(value) ? null : value);
    return {
      incr: (key) => connection.call('I', key),
      get: async (key) => orNull(await connection.call('G', key)),
      async lockedIncr(key) {
        const lock = `${key}:lock`;
        await connection.call('A', lock);
        try {
          const value = (orNull(await connection.call('G', key)) ?? 0) + 1;
          await connection.call('S', key, value);
          return value;
        } finally {
          await connection.call('R', lock);
        }
      },
      close: () => connection.close(),
    };
  },
};
