/** `npm run bench -- --rss` options. */
import { describe, expect, it } from 'vitest';
import { parseRssOptions } from '../../../bench/rss.js';

describe('parseRssOptions', () => {
  it('defaults to 1,000,000 keys and 2 s of settling', () => {
    expect(parseRssOptions([])).toEqual({ keys: 1_000_000, settleMs: 2000, json: false });
  });

  it('takes --compare-ref, --keys, --settle and --quick', () => {
    expect(parseRssOptions(['--compare-ref', 'main', '--keys', '5000', '--settle', '0.5'])).toEqual({ keys: 5000, settleMs: 500, json: false, compareRef: 'main' });
    expect(parseRssOptions(['--quick']).keys).toBe(100_000);
  });

  it('refuses bad numbers', () => {
    expect(() => parseRssOptions(['--keys', '1.5'])).toThrow(/--keys takes a positive whole number, not 1.5/);
    expect(() => parseRssOptions(['--settle', 'soon'])).toThrow(/--settle takes a number of seconds/);
  });
});
