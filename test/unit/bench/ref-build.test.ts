/** `--compare-ref`: resolving the ref with the repository's git, before anything is built. */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildRef, RefBuildError, refSubjectName, resolveCommit } from '../../../bench/ref-build.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('resolveCommit', () => {
  it('gives the full commit id of a ref', () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    expect(resolveCommit(ROOT, 'HEAD')).toBe(head);
    expect(resolveCommit(ROOT, head.slice(0, 10))).toBe(head);
  });

  it('refuses a ref git does not know, saying what to give instead', () => {
    expect(() => resolveCommit(ROOT, 'no-such-branch-xyz')).toThrow(RefBuildError);
    expect(() => resolveCommit(ROOT, 'no-such-branch-xyz')).toThrow(/--compare-ref no-such-branch-xyz: git finds no such commit.*git log --oneline/);
  });
});

describe('buildRef', () => {
  it('makes no temporary directory for an unknown ref', async () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('syncmgr-ref-'));
    await expect(buildRef(ROOT, 'no-such-branch-xyz')).rejects.toThrow(RefBuildError);
    const after = readdirSync(tmpdir()).filter((name) => name.startsWith('syncmgr-ref-'));
    expect(after.filter((name) => !before.includes(name) && existsSync(`${tmpdir()}/${name}`))).toEqual([]);
  });
});

describe('refSubjectName', () => {
  it('is syncmgr@ and the short commit id', () => {
    expect(refSubjectName('1b28814a0c5e7d2f')).toBe('syncmgr@1b28814');
  });
});
