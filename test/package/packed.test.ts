/**
 * The package as npm publishes it: `npm pack`, installed offline into a fresh project, loaded by
 * an ES module and by a CommonJS one (a project made with `npm init -y` is CommonJS).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const ROOT = join(import.meta.dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the packed tarball', () => {
  let project: string;
  let installed: string;
  let files: string[];

  beforeAll(() => {
    const packDir = tempDir();
    // --ignore-scripts: `npm test` built dist already; pack only what is there.
    const out = execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8' });
    const [packed] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed!.files.map((f) => f.path);
    project = tempDir();
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // Installed as npm would, offline: the tarball unpacked, its runtime dependencies (and
    // theirs) linked from this checkout, nothing else, so a file missing from `files` shows.
    installed = join(project, 'node_modules/syncmgr');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(packDir, packed!.filename), '-C', installed, '--strip-components=1']);
    for (const dep of runtimeDependencies(ROOT)) symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep));
  }, 120_000);

  it('loads from an ES module', async () => {
    writeFileSync(join(project, 'esm.mjs'), "import { connect, VERSION } from 'syncmgr';\nconsole.log(typeof connect, VERSION);\n");
    const result = await runProcess(process.execPath, ['esm.mjs'], {}, project);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^function \d+\.\d+\.\d+/);
  });

  it('loads from CommonJS with require(), without warnings', async () => {
    writeFileSync(join(project, 'cjs.js'), "const { connect, SyncmgrError } = require('syncmgr');\nconsole.log(typeof connect, typeof SyncmgrError);\n");
    const result = await runProcess(process.execPath, ['cjs.js'], {}, project);
    expect(result).toMatchObject({ code: 0, stdout: 'function function\n', stderr: '' });
  });

  it('loads the server from syncmgr/server, from an ES module and from CommonJS', async () => {
    writeFileSync(join(project, 'server-esm.mjs'), "import { createServer } from 'syncmgr/server';\nconsole.log(typeof createServer);\n");
    writeFileSync(join(project, 'server-cjs.js'), "const { createServer } = require('syncmgr/server');\nconsole.log(typeof createServer);\n");
    for (const script of ['server-esm.mjs', 'server-cjs.js']) {
      expect(await runProcess(process.execPath, [script], {}, project)).toMatchObject({ code: 0, stdout: 'function\n', stderr: '' });
    }
  });

  it('loads no server or persistence module for `syncmgr`, the client', async () => {
    // A module hook records every package file that is loaded (`syncmgr/dist/...`, `ws/...`).
    writeFileSync(join(project, 'record-loads.mjs'), [
      "import { appendFileSync } from 'node:fs';",
      'export async function load(url, context, next) {',
      "  const at = url.lastIndexOf('/node_modules/');",
      "  if (at >= 0) appendFileSync(process.env.LOADED, url.slice(at + 14) + '\\n');",
      '  return next(url, context);',
      '}',
      '',
    ].join('\n'));
    writeFileSync(join(project, 'hook.mjs'), "import { register } from 'node:module';\nregister('./record-loads.mjs', import.meta.url);\n");
    const loadedBy = async (source: string): Promise<string[]> => {
      const log = join(tempDir(), 'loaded.txt');
      writeFileSync(log, '');
      writeFileSync(join(project, 'entry.mjs'), source);
      const result = await runProcess(process.execPath, ['--import', './hook.mjs', 'entry.mjs'], { LOADED: log }, project);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      return readFileSync(log, 'utf8').split('\n').filter(Boolean);
    };
    const client = await loadedBy("import { connect } from 'syncmgr';\nawait connect({ port: 1, authkey: 'k', connectTimeout: 1 }).catch(() => {});\n");
    expect(client).toContain('syncmgr/dist/src/client/client.js');
    expect(client.filter((file) => /^syncmgr\/dist\/src\/(server|persistence|cli)[./]/.test(file))).toEqual([]);
    // `ws` is loaded when a client dials ws://, not before.
    expect(client.filter((file) => file.startsWith('ws/'))).toEqual([]);
    // The hook does see the server when it is loaded: the checks above can fail.
    const server = await loadedBy("import 'syncmgr/server';\nimport 'ws';\n");
    expect(server).toContain('syncmgr/dist/src/server/server.js');
    expect(server).toContain('syncmgr/dist/src/persistence/store.js');
    expect(server.some((file) => file.startsWith('ws/'))).toBe(true);
  });

  it('ships a LICENSE, and the sources every source map points at', () => {
    expect(files).toContain('LICENSE');
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const maps = files.filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(files, `${map} -> ${source}`).toContain(join(dirname(map), source));
    }
  });

  it('describes what the package has now', () => {
    const { description } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { description: string };
    expect(description).not.toMatch(/soon/);
    expect(description).toMatch(/locks.*queues/);
  });

  it('publishes types without the internals', () => {
    const types = (file: string): string => readFileSync(join(installed, 'dist/src', file), 'utf8');
    const client = types('client/client.d.ts');
    for (const internal of ['request(', 'hello(', 'trackHeld', 'untrackHeld', 'requestTargets', 'OutgoingRequest', 'HeldHandle']) {
      expect(client).not.toContain(internal);
    }
    expect(client).toContain('ping(');
    expect(types('client/proxies/lock.d.ts')).not.toContain('releaseToken');
    expect(types('client/proxies/semaphore.d.ts')).not.toContain('releaseToken');
    const server = types('server/server.d.ts');
    expect(server).not.toMatch(/\bregistry\b|\bjournal\b/);
    expect(server).toContain('listen(');
  });

  it('type-checks a TypeScript consumer without skipLibCheck', async () => {
    writeFileSync(join(project, 'consumer.mts'), [
      "import { connect, type LockHandle, InvalidArgumentError } from 'syncmgr';",
      "import { createServer, type ServerOptions } from 'syncmgr/server';",
      "const options: ServerOptions = { authkey: 'k', port: 0 };",
      'const server = createServer(options);',
      'await server.listen();',
      "const client = await connect({ port: 50000, authkey: 'k' });",
      "const held: LockHandle = await client.lock('l').acquire({ timeout: 1 });",
      "await held.release(); await client.dict<number>('d').incr('n');",
      'console.log(InvalidArgumentError.name);',
      '',
    ].join('\n'));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', lib: ['ES2023', 'ESNext.Disposable'], module: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'] },
      files: ['consumer.mts'],
    }));
    const result = await runProcess(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], {}, project);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

/** The packages `dir`'s package.json depends on at run time, and theirs, as installed (flat) in its node_modules. */
function runtimeDependencies(dir: string): Set<string> {
  const found = new Set<string>();
  const visit = (manifest: string): void => {
    const { dependencies = {} } = JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> };
    for (const name of Object.keys(dependencies)) {
      const path = join(dir, 'node_modules', name, 'package.json');
      if (found.has(name) || !existsSync(path)) continue;
      found.add(name);
      visit(path);
    }
  };
  visit(join(dir, 'package.json'));
  return found;
}
