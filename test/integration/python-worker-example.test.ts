/**
 * examples/python_worker.py against a real server, on the CPython versions the README names:
 * 3.12 and 3.13 work; 3.11's legacy HMAC-MD5 answer is refused (AuthenticationError).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';
import { AUTHKEY, connectTo, startServer, type TestServer } from '../helpers/server.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/python_worker.py');

describe('the Python worker example', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });

  const runWorker = (version: string) =>
    runProcess('python3', [EXAMPLE, '127.0.0.1', String(server.tcp.port)], {
      SYNCMGR_AUTHKEY: AUTHKEY,
      PYENV_VERSION: version,
      PYTHONDONTWRITEBYTECODE: '1',
      HOME: process.env.HOME ?? '',
      PYENV_ROOT: process.env.PYENV_ROOT ?? join(process.env.HOME ?? '', '.pyenv'),
    });

  it.each(['3.12.1', '3.13.0'])('increments a shared counter from CPython %s', async (version) => {
    const client = await connectTo(server.tcp);
    const before = (await client.dict<number>('default').get('hits')) ?? 0;
    const result = await runWorker(version);
    expect(result).toMatchObject({ code: 0, stdout: `${before + 1}\n`, stderr: '' });
  });

  it('is refused by CPython 3.11, whose handshake answer is legacy HMAC-MD5', async () => {
    const result = await runWorker('3.11.7');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('AuthenticationError');
  });
});
