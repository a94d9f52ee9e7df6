/** `syncmgr semaphore`, `barrier wait`, `list ...` and `queue size|join|task-done` through the real bin. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import { KEY, run, serve } from '../helpers/cli.js';
import { until } from '../helpers/until.js';

describe('syncmgr semaphore, barrier, list and queue bookkeeping', () => {
  let env: Record<string, string>;
  let server: Awaited<ReturnType<typeof serve>>;
  let observer: Client;

  beforeAll(async () => {
    server = await serve(['--port', '0', '--quiet'], { SYNCMGR_AUTHKEY: KEY });
    env = { SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:${/:(\d+)$/.exec(server.lines[0]!)![1]}` };
    observer = await connect({ url: env.SYNCMGR_URL });
  });

  afterAll(async () => {
    await observer.close();
    server.child.kill('SIGKILL');
  });

  it('semaphore runs the command holding a permit, and gives up at once when none is free', async () => {
    const ran = await run(['semaphore', 'pool', '--value', '2', '--', 'sh', '-c', 'echo "$SYNCMGR_SEMAPHORE_NAME"; exit 3'], env);
    expect(ran).toMatchObject({ code: 3, stdout: 'pool\n' });
    const permits = [await observer.semaphore('pool').acquire(), await observer.semaphore('pool').acquire()];
    try {
      const refused = await run(['semaphore', 'pool', '--timeout', '0', '--', 'echo', 'ran'], env);
      expect(refused).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('[TIMEOUT]') });
    } finally {
      for (const permit of permits) await permit.release();
    }
    expect((await observer.semaphore('pool').state()).held).toBe(0);
  });

  it('barrier wait returns once every party arrived, printing the arrival index', async () => {
    const first = run(['barrier', 'wait', 'meet', '--parties', '2'], env);
    await until(async () => (await observer.barrier('meet').state().catch(() => ({ waiting: 0 }))).waiting === 1);
    const second = await run(['barrier', 'wait', 'meet', '--parties', '2'], env);
    const indexes = [(await first).stdout, second.stdout].sort();
    expect(indexes).toEqual(['0\n', '1\n']);
  });

  it('list append, get, len, slice and pop', async () => {
    expect(await run(['list', 'append', 'todo', '{"job":1}'], env)).toMatchObject({ code: 0, stdout: '1\n' });
    expect(await run(['list', 'append', 'todo', 'plain text'], env)).toMatchObject({ code: 0, stdout: '2\n' });
    expect(await run(['list', 'get', 'todo', '-1', '--raw'], env)).toMatchObject({ code: 0, stdout: 'plain text\n' });
    expect(await run(['list', 'len', 'todo'], env)).toMatchObject({ code: 0, stdout: '2\n' });
    expect(await run(['list', 'slice', 'todo'], env)).toMatchObject({ code: 0, stdout: '[{"job":1},"plain text"]\n' });
    expect(await run(['list', 'pop', 'todo', '0'], env)).toMatchObject({ code: 0, stdout: '{"job":1}\n' });
    expect(await run(['list', 'get', 'todo', '5'], env)).toMatchObject({ code: 1, stderr: expect.stringContaining('[OUT_OF_RANGE]') });
  });

  it('queue size, task-done and join', async () => {
    await observer.queue('work').put('a');
    expect(await run(['queue', 'size', 'work'], env)).toMatchObject({ code: 0, stdout: '1\n' });
    expect(await run(['queue', 'join', 'work', '--timeout', '0.2'], env)).toMatchObject({ code: 1, stderr: expect.stringContaining('[TIMEOUT]') });
    await observer.queue('work').get();
    expect((await run(['queue', 'task-done', 'work'], env)).code).toBe(0);
    expect(await run(['queue', 'join', 'work', '--timeout', '5'], env)).toMatchObject({ code: 0, stderr: '' });
  });
});
