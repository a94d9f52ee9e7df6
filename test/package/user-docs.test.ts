/** The user docs speak to users: no issue numbers, and every relative link leads to a file. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const USER_DOCS = ['README.md', 'docs/PROTOCOL.md', 'docs/PERSISTENCE.md', 'bench/README.md', 'examples/README.md'];

describe.each(USER_DOCS)('%s', (doc) => {
  const text = readFileSync(join(ROOT, doc), 'utf8');

  it('mentions no issue numbers', () => {
    expect(text).not.toMatch(/\bissues? #?\d+/i);
  });

  it('links only to files that exist', () => {
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      expect(existsSync(join(ROOT, dirname(doc), target!)), `${doc} -> ${target}`).toBe(true);
    }
  });
});
