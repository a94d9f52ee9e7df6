/** Which endpoint and key connect() uses, from options, a connection string and the environment. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type EndpointOptions, resolveEndpoint } from '../../../src/client/options.js';
import { codeOf } from '../../helpers/assert.js';

const URL_A = 'tcp://:url-key@10.0.0.1:1111';
const ENV_URL = 'tcp://:env-url-key@10.0.0.2:2222';

function resolve(options: EndpointOptions) {
  const { endpoint, authkey } = resolveEndpoint(options);
  return { endpoint, key: authkey.toString('utf8') };
}


describe('resolveEndpoint', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  describe('endpoint precedence', () => {
    it('uses `url` over path, host/port and SYNCMGR_URL', () => {
      const env = { SYNCMGR_URL: ENV_URL };
      expect(resolve({ url: URL_A, path: '/tmp/s.sock', host: 'h', port: 9, env }).endpoint).toEqual({
        transport: 'tcp',
        host: '10.0.0.1',
        port: 1111,
      });
    });

    it('uses `path` over host/port and SYNCMGR_URL', () => {
      const env = { SYNCMGR_URL: ENV_URL };
      expect(resolve({ path: '/tmp/s.sock', host: 'h', port: 9, authkey: 'k', env }).endpoint).toEqual({
        transport: 'unix',
        path: '/tmp/s.sock',
      });
    });

    it('uses host/port over SYNCMGR_URL, defaulting the one not given', () => {
      const env = { SYNCMGR_URL: ENV_URL };
      expect(resolve({ host: 'h', port: 9, authkey: 'k', env }).endpoint).toEqual({ transport: 'tcp', host: 'h', port: 9 });
      expect(resolve({ host: 'h', authkey: 'k', env }).endpoint).toEqual({ transport: 'tcp', host: 'h', port: 50000 });
      expect(resolve({ port: 9, authkey: 'k', env }).endpoint).toEqual({ transport: 'tcp', host: '127.0.0.1', port: 9 });
    });

    it('uses SYNCMGR_URL when no address option is given', () => {
      expect(resolve({ env: { SYNCMGR_URL: ENV_URL } })).toEqual({
        endpoint: { transport: 'tcp', host: '10.0.0.2', port: 2222 },
        key: 'env-url-key',
      });
      expect(resolve({ env: { SYNCMGR_URL: 'unix:///tmp/e.sock?authkey=k' } }).endpoint).toEqual({ transport: 'unix', path: '/tmp/e.sock' });
    });

    it('ignores an empty SYNCMGR_URL', () => {
      expect(resolve({ authkey: 'k', env: { SYNCMGR_URL: '' } }).endpoint).toEqual({ transport: 'tcp', host: '127.0.0.1', port: 50000 });
    });

    it('falls back to 127.0.0.1:50000', () => {
      expect(resolve({ authkey: 'k', env: {} }).endpoint).toEqual({ transport: 'tcp', host: '127.0.0.1', port: 50000 });
    });

    it('reads process.env when no `env` is given', () => {
      vi.stubEnv('SYNCMGR_URL', 'tcp://:process-key@10.0.0.3:3333');
      vi.stubEnv('SYNCMGR_AUTHKEY', '');
      expect(resolve({})).toEqual({ endpoint: { transport: 'tcp', host: '10.0.0.3', port: 3333 }, key: 'process-key' });
    });

    it('reads only the given `env`, never process.env, when one is given', () => {
      vi.stubEnv('SYNCMGR_URL', 'tcp://:process-key@10.0.0.3:3333');
      vi.stubEnv('SYNCMGR_AUTHKEY', 'process-env-key');
      expect(codeOf(() => resolveEndpoint({ env: {} }))).toBe('CONFIG_ERROR');
    });
  });

  describe('key precedence', () => {
    it('uses the `authkey` option over the connection string and SYNCMGR_AUTHKEY', () => {
      const env = { SYNCMGR_URL: ENV_URL, SYNCMGR_AUTHKEY: 'env-key' };
      expect(resolve({ url: URL_A, authkey: 'option-key', env }).key).toBe('option-key');
      expect(resolve({ authkey: 'option-key', env }).key).toBe('option-key');
    });

    it('uses the key in `url` over SYNCMGR_AUTHKEY', () => {
      expect(resolve({ url: URL_A, env: { SYNCMGR_AUTHKEY: 'env-key' } }).key).toBe('url-key');
    });

    it('uses the key in SYNCMGR_URL over SYNCMGR_AUTHKEY when that string is the one used', () => {
      expect(resolve({ env: { SYNCMGR_URL: ENV_URL, SYNCMGR_AUTHKEY: 'env-key' } }).key).toBe('env-url-key');
    });

    it('does not take the key from SYNCMGR_URL when another address was chosen', () => {
      const env = { SYNCMGR_URL: ENV_URL, SYNCMGR_AUTHKEY: 'env-key' };
      expect(resolve({ path: '/tmp/s.sock', env }).key).toBe('env-key');
      expect(resolve({ url: 'tcp://127.0.0.1:1', env }).key).toBe('env-key');
      expect(codeOf(() => resolveEndpoint({ host: 'h', env: { SYNCMGR_URL: ENV_URL } }))).toBe('CONFIG_ERROR');
    });

    it('falls back to SYNCMGR_AUTHKEY', () => {
      expect(resolve({ path: '/tmp/s.sock', env: { SYNCMGR_AUTHKEY: 'env-key' } }).key).toBe('env-key');
      expect(resolve({ env: { SYNCMGR_AUTHKEY: 'env-key' } }).key).toBe('env-key');
    });

    it('uses a string key as its UTF-8 bytes and a Buffer key as it is', () => {
      expect(resolveEndpoint({ authkey: 'é✓', env: {} }).authkey).toEqual(Buffer.from('é✓', 'utf8'));
      const raw = Buffer.from([0, 255, 128, 1]);
      expect(resolveEndpoint({ authkey: raw, env: {} }).authkey).toEqual(raw);
    });

    it('fails with CONFIG_ERROR when no key is found anywhere', () => {
      expect(codeOf(() => resolveEndpoint({ env: {} }))).toBe('CONFIG_ERROR');
      expect(codeOf(() => resolveEndpoint({ url: 'tcp://127.0.0.1:1', env: {} }))).toBe('CONFIG_ERROR');
      expect(codeOf(() => resolveEndpoint({ path: '/tmp/s.sock', env: {} }))).toBe('CONFIG_ERROR');
      expect(codeOf(() => resolveEndpoint({ env: { SYNCMGR_URL: 'tcp://127.0.0.1:1' } }))).toBe('CONFIG_ERROR');
    });

    it('fails with CONFIG_ERROR on an empty key', () => {
      expect(codeOf(() => resolveEndpoint({ authkey: Buffer.alloc(0), env: {} }))).toBe('CONFIG_ERROR');
      expect(codeOf(() => resolveEndpoint({ env: { SYNCMGR_AUTHKEY: '' } }))).toBe('CONFIG_ERROR');
    });
  });

  it('fails with CONFIG_ERROR on a bad connection string in `url` or SYNCMGR_URL', () => {
    expect(codeOf(() => resolveEndpoint({ url: 'nonsense', authkey: 'k', env: {} }))).toBe('CONFIG_ERROR');
    expect(codeOf(() => resolveEndpoint({ authkey: 'k', env: { SYNCMGR_URL: 'http://h:1' } }))).toBe('CONFIG_ERROR');
  });
});
