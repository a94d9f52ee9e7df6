/**
 * docs/PROTOCOL.md is enough to write a client: test/fixtures/foreign_client.py was written from it
 * alone, in plain Python 3 (socket, hmac, hashlib, json, struct, os), and must interoperate with
 * the real server: mutual handshake, hello, pipelined requests matched by id, error codes.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHALLENGE, HANDSHAKE_MAX_FRAME_BYTES, WELCOME } from '../../src/protocol/constants.js';
import { encodeFrame, FrameDecoder } from '../../src/protocol/frame.js';
import { computeAnswer, createChallengeMessage } from '../../src/protocol/handshake.js';
import { runProcess } from '../helpers/cli.js';
import { AUTHKEY, connectTo, onCleanup, startServer } from '../helpers/server.js';

const ROOT = join(import.meta.dirname, '../..');
const CLIENT = join('test', 'fixtures', 'foreign_client.py');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (the client prints exactly one JSON object). */
  summary: Record<string, unknown>;
}

/** Runs the Python client to completion with `authkey` in SYNCMGR_AUTHKEY. */
async function runForeignClient(port: number, authkey: string, extra: string[] = []): Promise<Run> {
  const { code, stdout, stderr } = await runProcess('python3', [CLIENT, '127.0.0.1', String(port), ...extra], { SYNCMGR_AUTHKEY: authkey }, ROOT);
  try {
    return { code, stdout, stderr, summary: JSON.parse(stdout) as Record<string, unknown> };
  } catch {
    throw new Error(`foreign client printed no JSON summary (exit ${code}).\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
}

/**
 * A fake server that welcomes any answer to its challenge, then answers the client's challenge
 * with the wrong key: it does not know the authkey. Resolves the frames the client sent.
 */
async function startImpostor(): Promise<{ port: number; received: Promise<Buffer[]> }> {
  let deliver!: (frames: Buffer[]) => void;
  const received = new Promise<Buffer[]>((resolve) => (deliver = resolve));
  const server: NetServer = createNetServer((socket: Socket) => {
    const frames: Buffer[] = [];
    const decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES, (payload) => {
      frames.push(Buffer.from(payload));
      if (frames.length === 1) socket.write(encodeFrame(WELCOME)); // any answer will do
      if (frames.length === 2) {
        const message = frames[1]!.subarray(CHALLENGE.length);
        socket.write(encodeFrame(computeAnswer(Buffer.from('not-the-key'), message)));
      }
    });
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => deliver(frames));
    socket.write(encodeFrame(Buffer.concat([CHALLENGE, createChallengeMessage()])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, received };
}

describe('a client written from docs/PROTOCOL.md alone (Python, stdlib only)', () => {
  it('authenticates both ways, pipelines requests, matches answers by id and gets the documented results', async () => {
    const { tcp } = await startServer();
    const run = await runForeignClient(tcp.port, AUTHKEY, ['--name', 'foreign', '--count', '7']);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.summary).toEqual({
      ok: true,
      server: expect.stringMatching(/^syncmgr\//),
      protocol: 1,
      session: expect.any(Number),
      pipelined: 19,
      responses: 19,
      incr_results: [11, 12, 13, 14, 15, 16, 17],
      final: 19.5,
      items: [['n', 19.5], ['label', 'hello']],
      errors: { '6': 'WRONG_TYPE', '8': 'KEY_NOT_FOUND', '12': 'UNKNOWN_METHOD' },
      events: [],
      in_order: true,
    });

    // What the Python client wrote is what a TypeScript client reads.
    const client = await connectTo(tcp);
    const dict = client.dict('foreign');
    expect(await dict.items()).toEqual([['n', 19.5], ['label', 'hello']]);
  });

  it('three foreign clients at once each get their own session and their own results', async () => {
    const { tcp } = await startServer();
    const runs = await Promise.all([1, 2, 3].map((i) => runForeignClient(tcp.port, AUTHKEY, ['--name', `parallel-${i}`, '--count', '20'])));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.summary.incr_results).toEqual(Array.from({ length: 20 }, (_, i) => 11 + i));
    }
    expect(new Set(runs.map((run) => run.summary.session)).size).toBe(3);
  });

  it('reports an authentication failure and exits non-zero when its key is wrong', async () => {
    const { tcp, logs } = await startServer();
    const run = await runForeignClient(tcp.port, 'not-the-key');

    expect(run.code).toBe(2);
    expect(run.summary).toMatchObject({ ok: false, error: 'AUTH_FAILED' });
    expect(run.summary.message).toMatch(/rejected our answer \(#FAILURE#\)/);
    expect(run.stderr).toMatch(/auth failed.*\[AUTH_FAILED\]/);
    // The key never crossed the wire, so it cannot show up in what the server logged.
    expect(logs.some((line) => line.startsWith('authentication failed'))).toBe(true);
    expect(logs.join('\n')).not.toContain('not-the-key');
  });

  it('refuses to go on with a server that cannot prove it knows the key', async () => {
    const impostor = await startImpostor();
    const run = await runForeignClient(impostor.port, AUTHKEY);

    expect(run.code).toBe(3);
    expect(run.summary).toMatchObject({ ok: false, error: 'AUTH_FAILED' });
    expect(run.summary.message).toMatch(/does not know the authkey/);
    // Frames 2, 4 and 6 of §3: the answer, the client's challenge, and its verdict #FAILURE#.
    const frames = await impostor.received;
    expect(frames).toHaveLength(3);
    expect(frames[0]!.subarray(0, 8).toString('latin1')).toBe('{sha256}');
    expect(frames[0]).toHaveLength(40);
    expect(frames[1]!.subarray(0, 19).toString('latin1')).toBe('#CHALLENGE#{sha256}');
    expect(frames[1]).toHaveLength(59);
    expect(frames[2]!.toString('latin1')).toBe('#FAILURE#');
  });

  it('recognises a #REFUSED# server at its connection limit', async () => {
    const { tcp } = await startServer({ maxConnections: 0 });
    const run = await runForeignClient(tcp.port, AUTHKEY);

    expect(run.code).toBe(4);
    expect(run.summary).toMatchObject({ ok: false, error: 'TOO_MANY_CONNECTIONS' });
    expect(run.summary.message).toMatch(/too many connections/);
  });
});
