/**
 * A program that forgets client.close() still exits once it has nothing left to do, while a
 * request in flight (a wait on the server included) keeps it alive until answered. Real child
 * processes, against the built package (`npm run build` first).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';
import { AUTHKEY, connectTo, onCleanup, startServer, type TestServer, tempDir } from '../helpers/server.js';

const PACKAGE = pathToFileURL(join(import.meta.dirname, '../../dist/src/index.js')).href;

describe('process exit', () => {
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    server = await startServer();
    dir = tempDir();
  });

  /** Runs `body` (top-level await, `client` connected over `transport`) in a child; killed after 20 s. */
  async function runChild(name: string, body: string, transport: 'tcp' | 'unix' | 'ws' = 'tcp') {
    const target = transport === 'tcp' ? { port: server.tcp.port } : transport === 'unix' ? { path: server.unix.path } : { url: server.ws.url };
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, `import { connect } from '${PACKAGE}';\nconst client = await connect(${JSON.stringify({ ...target, authkey: AUTHKEY })});\n${body}\n`);
    const started = Date.now();
    const result = await runProcess(process.execPath, [file]);
    return { ...result, seconds: (Date.now() - started) / 1000 };
  }

  it.each(['tcp', 'unix', 'ws'] as const)('exits when the program forgets close() (%s)', async (transport) => {
    const result = await runChild(`forget-${transport}`, "await client.dict('d').set('k', 1);\nconsole.log('done');", transport);
    // Killed at 20 s (code null) when something keeps the process alive.
    expect(result).toMatchObject({ code: 0, stdout: 'done\n', stderr: '' });
    expect(result.seconds).toBeLessThan(15);
  });

  it('stays alive while a request waits on the server, and exits after', async () => {
    const result = await runChild('wait', "console.log(await client.event('never').wait({ timeout: 1.5 }));");
    expect(result).toMatchObject({ code: 0, stdout: 'false\n', stderr: '' });
  });

  it('stays alive while it holds a lock with nothing else to do, releasing it when killed', async () => {
    const file = join(dir, 'hold.mjs');
    writeFileSync(file, `import { connect } from '${PACKAGE}';\nconst client = await connect(${JSON.stringify({ port: server.tcp.port, authkey: AUTHKEY })});\nawait client.lock('held').acquire();\nconsole.log('held');\n`);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const observer = await connectTo(server.tcp);
    // Were the process gone, the server would have released the lock and this would be granted.
    await expect(observer.lock('held').acquire({ timeout: 1 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(child.exitCode).toBe(null);
    child.kill('SIGKILL');
    const granted = await observer.lock('held').acquire({ timeout: 10 });
    await granted.release();
  });

  it('runs the code after await client.close()', async () => {
    const result = await runChild('close', "await client.ping();\nawait client.close();\nconsole.log('closed', client.status);");
    expect(result).toMatchObject({ code: 0, stdout: 'closed closed\n', stderr: '' });
  });
});
