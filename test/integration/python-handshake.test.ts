/**
 * The handshake against real CPython (3.12 and 3.13, through pyenv), both ways:
 * `multiprocessing.connection.Client` against our server, and our client side against
 * `multiprocessing.connection.Listener`. The Python scripts live in test/fixtures and stop
 * themselves (signal.alarm) if a test leaves them behind; the children are also killed on timeout.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { HANDSHAKE_MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { clientHandshake } from '../../src/protocol/handshake.js';
import { HandshakeReader, PauseReason } from '../../src/transport/channel.js';
import { SocketChannel } from '../../src/transport/socket.js';
import { AUTHKEY, connectTo, onCleanup, startServer, type TestServer } from '../helpers/server.js';

const FIXTURES = join(import.meta.dirname, '../fixtures');
const PYTHONS = ['3.12.1', '3.13.0'];
/** A child still running after this is killed (the scripts' own alarm is 20 s). */
const CHILD_LIMIT_MS = 25_000;

interface PythonRun {
  child: ChildProcess;
  /** Parsed JSON lines printed so far. */
  lines: any[];
  /** Resolves with the first line for which `match` is true. */
  line(match: (line: any) => boolean): Promise<any>;
  /** Resolves with the exit status once the child has exited. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** Starts `python3 script ...args` under pyenv version `version`. */
function runPython(version: string, script: string, args: string[]): PythonRun {
  const child = spawn('python3', [join(FIXTURES, script), ...args], {
    env: { ...process.env, PYENV_VERSION: version, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const lines: any[] = [];
  const watchers: Array<{ match: (line: any) => boolean; resolve: (line: any) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text);
    lines.push(line);
    for (const watcher of watchers.splice(0)) {
      if (watcher.match(line)) watcher.resolve(line);
      else watchers.push(watcher);
    }
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      for (const watcher of watchers.splice(0)) watcher.resolve(undefined);
      resolve({ code, stderr });
    });
  });
  return {
    child,
    lines,
    exited,
    line: (match) => {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      if (child.exitCode !== null) return Promise.resolve(undefined);
      return new Promise((resolve) => watchers.push({ match, resolve }));
    },
  };
}

const hello = (id: number) => ({ id, op: 'hello', args: [{ protocol: PROTOCOL_VERSION, client: 'cpython-test' }] });

describe.each(PYTHONS)('CPython %s', (version) => {
  let srv: TestServer;

  beforeAll(async () => {
    srv = await startServer();
  });

  it('is the interpreter pyenv runs for this version', () => {
    const { stdout, status } = spawnSync('python3', ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], {
      env: { ...process.env, PYENV_VERSION: version },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(status).toBe(0);
    expect(stdout.trim()).toBe(version);
  });

  describe('multiprocessing.connection.Client against our server', () => {
    it('completes the handshake, then gets JSON answers to hello and incr through send_bytes/recv_bytes', async () => {
      const dict = `py-${version}`;
      const requests = [
        hello(1),
        { id: 2, op: 'incr', type: 'dict', name: dict, args: ['hits'] },
        { id: 3, op: 'incr', type: 'dict', name: dict, args: ['hits', 41] },
      ];
      const run = runPython(version, 'py_json_client.py', [srv.tcp.host, String(srv.tcp.port), AUTHKEY, JSON.stringify(requests)]);
      const { code, stderr } = await run.exited;
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const [helloAnswer, first, second] = run.lines.slice(2);
      expect(run.lines[1]).toEqual({ event: 'authenticated' });
      expect(helloAnswer).toMatchObject({ id: 1, result: { protocol: PROTOCOL_VERSION, instance: srv.server.instanceId } });
      expect(first).toEqual({ id: 2, result: 1 });
      expect(second).toEqual({ id: 3, result: 42 });
      // What Python wrote is what a Node client reads.
      const node = await connectTo(srv.tcp, { heartbeats: false });
      expect(await node.dict(dict).get('hits')).toBe(42);
      expect(srv.logs.some((line) => line.startsWith(`session ${helloAnswer.result.session} authenticated`))).toBe(true);
    });

    it('gets a JSON error answer to a bad request and keeps the connection', async () => {
      const requests = [
        { id: 1, op: 'get', type: 'dict', name: 'x', args: ['k'] },
        hello(2),
        { id: 3, op: 'incr', type: 'nosuchtype', name: 'x', args: ['k'] },
        { id: 4, op: 'ping' },
      ];
      const run = runPython(version, 'py_json_client.py', [srv.tcp.host, String(srv.tcp.port), AUTHKEY, JSON.stringify(requests)]);
      expect((await run.exited).code).toBe(0);
      const answers = run.lines.slice(2);
      expect(answers[0]).toMatchObject({ id: 1, error: { code: 'HELLO_REQUIRED' } });
      expect(answers[2]).toMatchObject({ id: 3, error: { code: 'UNKNOWN_TYPE' } });
      expect(answers[3]).toEqual({ id: 4, result: 'pong' });
    });

    it('raises AuthenticationError in Python on a wrong key, and the server logs it and keeps serving', async () => {
      const node = await connectTo(srv.tcp, { heartbeats: false });
      const failuresBefore = srv.logs.filter((line) => /authentication failed/.test(line)).length;
      const wrong = runPython(version, 'py_json_client.py', [srv.tcp.host, String(srv.tcp.port), 'not-the-key', JSON.stringify([hello(1)])]);
      const { code } = await wrong.exited;
      expect(code).toBe(3);
      expect(wrong.lines).toContainEqual({ event: 'auth-error', type: 'AuthenticationError' });
      expect(srv.logs.filter((line) => /authentication failed/.test(line)).length).toBe(failuresBefore + 1);

      // The next Python client, and the Node client connected all along, are served as usual.
      const requests = [hello(1), { id: 2, op: 'incr', type: 'dict', name: `after-failure-${version}`, args: ['n'] }];
      const right = runPython(version, 'py_json_client.py', [srv.tcp.host, String(srv.tcp.port), AUTHKEY, JSON.stringify(requests)]);
      expect((await right.exited).code).toBe(0);
      expect(right.lines.at(-1)).toEqual({ id: 2, result: 1 });
      expect(await node.dict(`after-failure-${version}`).incr('n')).toBe(2);
    });
  });

  describe('our client against multiprocessing.connection.Listener', () => {
    /** Starts the Python listener and resolves with it and its port. */
    async function listener(authkey: string): Promise<{ run: PythonRun; port: number }> {
      const run = runPython(version, 'py_json_listener.py', [authkey]);
      const ready = await run.line((line) => 'port' in line);
      if (ready === undefined) throw new Error(`listener did not start: ${(await run.exited).stderr}`);
      expect(ready.python).toBe(version);
      return { run, port: ready.port };
    }

    /** A raw TCP channel to `port`, as connect() makes before its handshake. */
    async function dialRaw(port: number): Promise<SocketChannel> {
      const socket = netConnect({ host: '127.0.0.1', port });
      onCleanup(() => void socket.destroy());
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      return new SocketChannel(socket, 'tcp', HANDSHAKE_MAX_FRAME_BYTES);
    }

    it('clientHandshake over a SocketChannel succeeds with the right key, and a JSON frame follows', async () => {
      const { run, port } = await listener(AUTHKEY);
      const channel = await dialRaw(port);
      await clientHandshake(new HandshakeReader(channel, 3, 1 << 20), Buffer.from(AUTHKEY));
      expect(await run.line((line) => line.event === 'authenticated')).toBeDefined();
      const answer = new Promise<Buffer>((resolve) => channel.setFrameHandler(resolve));
      channel.resumeReading(PauseReason.Handshake);
      channel.send(JSON.stringify(hello(1)));
      expect(JSON.parse((await answer).toString())).toMatchObject({ id: 1, result: { server: `cpython-listener/${version}` } });
      channel.end();
      expect((await run.exited).code).toBe(0);
      expect(run.lines.at(-1)).toEqual({ event: 'eof' });
    });

    it('clientHandshake over a SocketChannel fails with AUTH_FAILED on a wrong key', async () => {
      const { run, port } = await listener('python-side-key');
      const channel = await dialRaw(port);
      await expect(clientHandshake(new HandshakeReader(channel, 3, 1 << 20), Buffer.from(AUTHKEY))).rejects.toMatchObject({
        code: 'AUTH_FAILED',
      });
      channel.destroy();
      expect((await run.exited).code).toBe(3);
      expect(run.lines).toContainEqual({ event: 'auth-error', type: 'AuthenticationError' });
    });

    it('connect() authenticates, reads the JSON hello answer and calls through', async () => {
      const { run, port } = await listener(AUTHKEY);
      const client = await connect({ host: '127.0.0.1', port, authkey: AUTHKEY, heartbeats: false });
      expect(client.server.server).toBe(`cpython-listener/${version}`);
      expect(await client.call('dict', 'x', 'incr', ['n', 5])).toBe(5);
      expect(await client.call('dict', 'x', 'incr', ['n'])).toBe(6);
      await client.close();
      expect((await run.exited).code).toBe(0);
      expect(run.lines.filter((line) => line.event === 'request').map((line) => line.op)).toEqual(['hello', 'incr', 'incr']);
    });

    it('connect() fails with AUTH_FAILED when the Listener has another key', async () => {
      const { run, port } = await listener('python-side-key');
      await expect(connect({ host: '127.0.0.1', port, authkey: AUTHKEY, heartbeats: false, connectTimeout: 10 })).rejects.toMatchObject({
        code: 'AUTH_FAILED',
        name: 'AuthenticationError',
      });
      expect((await run.exited).code).toBe(3);
    });
  });
});
