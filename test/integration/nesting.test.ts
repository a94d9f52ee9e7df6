/**
 * A request nested deeper than the limit is refused from its text, before JSON.parse would build
 * millions of arrays, so a client sending one does not stall the others.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../src/protocol/constants.js';
import { RawClient } from '../helpers/raw-client.js';
import { connectTo, startServer, type TestServer } from '../helpers/server.js';

/**
 * The worst a bystander's ping may take while the deep request is served. Parsing the request
 * below stalled this test's server 4.8 s before the fix; with the scan the slowest ping took 56 ms.
 * Generous for a busy machine, and still far under what parsing costs.
 */
const BYSTANDER_BOUND_MS = 1000;

let srv: TestServer;
let bystander: Client;

beforeAll(async () => {
  srv = await startServer();
  bystander = await connectTo(srv.tcp);
});

/** Pings back to back until `done` settles; resolves with the slowest round trip, in ms. */
async function slowestPing(done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => (finished = true));
  let slowest = 0;
  while (!finished) {
    const start = performance.now();
    await bystander.ping();
    slowest = Math.max(slowest, performance.now() - start);
  }
  return slowest;
}

describe('a request nested past the limit', () => {
  it(`is refused with BAD_REQUEST and its id while a bystander's pings stay under ${BYSTANDER_BOUND_MS} ms`, async () => {
    const raw = await RawClient.connect(srv.tcp);
    await raw.hello();
    const head = '{"id":"deep","op":"set","type":"dict","name":"nest","args":["k",';
    const payload = Buffer.alloc(DEFAULT_MAX_FRAME_BYTES, '[');
    payload.write(head);
    await bystander.ping();
    raw.send(payload);
    const answer = raw.nextJson(30_000);
    const slowest = await slowestPing(answer);
    expect(await answer).toMatchObject({ id: 'deep', error: { code: 'BAD_REQUEST' } });
    expect(slowest).toBeLessThan(BYSTANDER_BOUND_MS);
    expect(await raw.request({ id: 'after', op: 'has', type: 'dict', name: 'nest', args: ['k'] })).toEqual({ id: 'after', result: false });
  });
});
