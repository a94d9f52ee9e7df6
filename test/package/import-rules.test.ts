/**
 * The import rules of .dependency-cruiser.cjs (run on src/ by `npm run lint:deps`, from `npm test`'s
 * pretest and .ci/run) fail on a tree that breaks them, and say which file, which import and why.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Run, runProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const ROOT = join(import.meta.dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const RULES = (createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: Array<{ name: string; comment: string }> }).forbidden;

/** Runs the project's rules on `dir`/src, as `npm run lint:deps` runs them on the project. */
function cruise(dir: string): Promise<Run> {
  return runProcess(process.execPath, [DEPCRUISE, 'src', '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err-long'], {}, dir, 50_000);
}

/** A throwaway project holding `files` (path under the project -> source). */
function project(files: Record<string, string>): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

describe('the import rules', () => {
  let broken: Run;

  beforeAll(async () => {
    broken = await cruise(project({
      'src/errors.ts': 'export const e = 1;\n',
      'src/server/session.ts': 'export const s = 1;\n',
      'src/server/registry.ts': 'export const r = 1;\n',
      'src/protocol/frame.ts': "import { s } from '../server/session.js';\nexport const f = s;\n",
      'src/core/dict.ts': "import { createServer } from 'node:net';\nexport const d = createServer;\n",
      'src/persistence/wal.ts': "import { s } from '../server/session.js';\nexport const w = s;\n",
      // On the allowlist for registry.ts, not for session.ts.
      'src/persistence/state.ts': "import { s } from '../server/session.js';\nimport { r } from '../server/registry.js';\nexport const st = s + r;\n",
      'src/client/client.ts': "import { w } from '../persistence/wal.js';\nexport const c = w;\n",
      'src/index.ts': "export { c } from './client/client.js';\n",
      'src/util/deque.ts': "import { e } from '../errors.js';\nimport { f } from '../protocol/frame.js';\nexport const q = e + f;\n",
    }));
  }, 60_000);

  it('fail the run', () => {
    expect(broken.code).not.toBe(0);
  });

  it.each([
    ['protocol-is-pure', 'src/protocol/frame.ts → src/server/session.ts'],
    ['core-has-no-io', 'src/core/dict.ts → net'],
    ['persistence-imports-no-server', 'src/persistence/wal.ts → src/server/session.ts'],
    ['persistence-imports-no-server', 'src/persistence/state.ts → src/server/session.ts'],
    ['client-imports-no-server', 'src/client/client.ts → src/persistence/wal.ts'],
    ['client-entry-loads-no-server', 'src/index.ts → src/server/session.ts'],
    ['util-is-a-leaf', 'src/util/deque.ts → src/protocol/frame.ts'],
  ])('%s: names the import (%s) and says why', (rule, edge) => {
    const at = broken.stdout.indexOf(`error ${rule}: ${edge}\n`);
    expect(at, broken.stdout).toBeGreaterThanOrEqual(0);
    // The rule's comment follows (wrapped), so the message says what to do.
    const block = broken.stdout.slice(at, broken.stdout.indexOf('\n\n', at)).replace(/\s+/g, ' ');
    expect(block).toContain(RULES.find((r) => r.name === rule)!.comment.replace(/\s+/g, ' '));
  });

  it('let through exactly what they allow: util -> errors', () => {
    expect(broken.stdout).not.toContain('src/util/deque.ts → src/errors.ts');
    expect(broken.stdout).toMatch(/x 9 dependency violations/);
  });

  it('pass on the project as it is', async () => {
    const result = await cruise(ROOT);
    expect(result.stdout + result.stderr).toMatch(/no dependency violations found/);
    expect(result.code).toBe(0);
  }, 60_000);
});
