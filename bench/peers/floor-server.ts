/**
 * The Node floor's server (bench/peers/floor.ts): the least a Node server of these workloads can
 * do. One process, net sockets that read into one reused buffer as syncmgr's do (`onread`,
 * src/transport/socket.ts withReusedReads, 'data' events where that fails), a binary protocol
 * with nothing to parse but a byte and a number, counters in a Map, FIFO locks, no
 * authentication. It prints `listening on PORT` and serves until it is killed.
 *
 *   request  u32 BE length | op (1 byte) | value (f64 BE) | key (latin1)
 *   answer   u32 BE 8      | value (f64 BE; NaN for a missing key)
 *
 *   op  I incr(key) → new value    G get(key) → value    S set(key, value) → value
 *       A acquire(lock) → 1 when granted (FIFO)          R release(lock) → 1
 *
 * A connection has one request in flight at a time (acquire may wait); answers go in order.
 */
import { createServer, type Socket } from 'node:net';
import { ReusedReadBuffer, withReusedReads } from '../../src/transport/socket.js';
import { FLOOR_ANSWER_BYTES, FLOOR_FIXED_BYTES, FLOOR_HEADER_BYTES } from './floor-protocol.js';

const counters = new Map<string, number>();
/** Per lock name, the sockets waiting for it (the first holds it). */
const locks = new Map<string, Socket[]>();

function answer(socket: Socket, value: number): void {
  const frame = Buffer.allocUnsafe(FLOOR_ANSWER_BYTES);
  frame.writeUInt32BE(FLOOR_ANSWER_BYTES - FLOOR_HEADER_BYTES, 0);
  frame.writeDoubleBE(value, FLOOR_HEADER_BYTES);
  socket.write(frame);
}

function serve(socket: Socket, request: Buffer): void {
  const op = request[0];
  const value = request.readDoubleBE(1);
  const key = request.toString('latin1', FLOOR_FIXED_BYTES);
  switch (op) {
    case 0x49 /* I */: {
      const next = (counters.get(key) ?? 0) + 1;
      counters.set(key, next);
      answer(socket, next);
      return;
    }
    case 0x47 /* G */:
      answer(socket, counters.get(key) ?? Number.NaN);
      return;
    case 0x53 /* S */:
      counters.set(key, value);
      answer(socket, value);
      return;
    case 0x41 /* A */: {
      const queue = locks.get(key);
      if (queue === undefined) {
        locks.set(key, [socket]);
        answer(socket, 1);
      } else {
        queue.push(socket);
      }
      return;
    }
    case 0x52 /* R */: {
      const queue = locks.get(key);
      if (queue === undefined || queue[0] !== socket) throw new Error(`release of ${key}, not held by this connection`);
      queue.shift();
      // The next holder's grant first: it is the one everyone waits on.
      if (queue.length > 0) answer(queue[0]!, 1);
      else locks.delete(key);
      answer(socket, 1);
      return;
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

const server = createServer({ pauseOnConnect: true }, (accepted) => {
  const reads = new ReusedReadBuffer();
  const socket = withReusedReads(accepted, reads) ?? accepted;
  socket.setNoDelay(true);
  let held = Buffer.alloc(0);
  // The first `length` bytes of `buffer` were read (the reused buffer is passed whole, as to syncmgr's decoder).
  const onRead = (buffer: Buffer, length: number): void => {
    const bytes = held.length === 0 ? buffer : Buffer.concat([held, buffer.subarray(0, length)]);
    const size = held.length === 0 ? length : bytes.length;
    let offset = 0;
    while (size - offset >= FLOOR_HEADER_BYTES) {
      const end = offset + FLOOR_HEADER_BYTES + bytes.readUInt32BE(offset);
      if (size < end) break;
      serve(socket, bytes.subarray(offset + FLOOR_HEADER_BYTES, end));
      offset = end;
    }
    // The reused buffer is overwritten by the next read: what waits is copied.
    held = offset === size ? held.subarray(0, 0) : Buffer.from(bytes.subarray(offset, size));
  };
  if (socket === accepted) {
    socket.on('data', (chunk: Buffer) => onRead(chunk, chunk.length));
    socket.resume();
  } else {
    reads.setReceiver(onRead);
  }
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    for (const [key, queue] of locks) {
      const at = queue.indexOf(socket);
      if (at < 0) continue;
      queue.splice(at, 1);
      if (at === 0 && queue.length > 0) answer(queue[0]!, 1);
      if (queue.length === 0) locks.delete(key);
    }
  });
});
server.listen(0, '127.0.0.1', 4096, () => {
  const address = server.address();
  process.stdout.write(`listening on ${typeof address === 'object' && address !== null ? address.port : address}\n`);
});
