/**
 * The client's heartbeats, read off what a test server receives: a client pings only in an
 * interval in which it did not both send requests and hear from the server, and gives up on a
 * server that leaves a ping unanswered for the session timeout.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../../src/errors.js';
import { connectTo } from '../helpers/server.js';
import { startSilentServer } from '../helpers/silent-server.js';

const HEARTBEAT_MS = 40;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The ops of `requests` from index `from` on. */
function opsSince(requests: ReadonlyArray<{ op: string }>, from: number): string[] {
  return requests.slice(from).map((request) => request.op);
}

describe('heartbeats', () => {
  it('a client that keeps sending requests and getting answers sends no ping; once idle it pings again', { timeout: 10_000 }, async () => {
    const server = await startSilentServer('tcp', { heartbeatMs: HEARTBEAT_MS, sessionTimeoutMs: 3 * HEARTBEAT_MS, answerAll: true });
    const client = await connectTo(server.endpoint);
    const dict = client.dict('d');
    const start = server.requests.length;
    // Busy for at least 15 heartbeat intervals.
    const busyUntil = Date.now() + 15 * HEARTBEAT_MS;
    let sent = 0;
    while (Date.now() < busyUntil) {
      expect(await dict.get('k')).toBe(null);
      sent++;
    }
    const busyOps = opsSince(server.requests, start);
    expect(busyOps).toHaveLength(sent);
    expect(busyOps.filter((op) => op === 'ping')).toEqual([]);
    // Idle: pings every interval, each answered.
    const idleFrom = server.requests.length;
    await server.received(idleFrom + 3);
    expect(opsSince(server.requests, idleFrom)).toEqual(['ping', 'ping', 'ping']);
    expect(client.status).toBe('ready');
    await client.close();
  });

  it('a client that sends requests but hears nothing back still pings, and gives up when the ping goes unanswered', { timeout: 10_000 }, async () => {
    // Answers hello, then nothing: a server gone behind a half-open connection.
    const timeoutMs = 3 * HEARTBEAT_MS;
    const server = await startSilentServer('tcp', { heartbeatMs: HEARTBEAT_MS, sessionTimeoutMs: timeoutMs });
    const client = await connectTo(server.endpoint, { heartbeats: true });
    const closed = new Promise<unknown>((resolve) => client.once('close', resolve));
    const dict = client.dict('d');
    const calls: Array<Promise<unknown>> = [];
    const sender = setInterval(() => calls.push(dict.set('k', calls.length).catch((err: unknown) => err)), HEARTBEAT_MS / 4);
    try {
      const reason = await closed;
      expect(reason).toBeInstanceOf(ConnectionClosedError);
      expect(String((reason as Error).message)).toMatch(/did not answer a heartbeat within 120 ms/);
    } finally {
      clearInterval(sender);
    }
    expect(opsSince(server.requests, 0)).toContain('ping');
    // Every call still pending when it gave up is failed, none left hanging.
    for (const outcome of await Promise.all(calls)) expect(outcome).toBeInstanceOf(ConnectionClosedError);
  });
});
