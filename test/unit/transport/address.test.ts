/** Connection strings: parsing, building, redaction. Pure: nothing here dials. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT } from '../../../src/protocol/constants.js';
import {
  connectionString,
  type Endpoint,
  formatEndpoint,
  parseConnectionString,
  redact,
} from '../../../src/transport/address.js';
import { codeOf } from '../../helpers/assert.js';


/** Keys that need every kind of escaping a URL has. */
const AWKWARD_KEYS = [
  'plain',
  'p@ss:w/rd',
  'a?b#c&d=e',
  '100% sure',
  'plus+sign',
  'spaces  and\ttabs',
  "quotes'\"`",
  'unicode é ✓ 鍵',
  '[brackets]{braces}|pipe\\back',
  '***',
];

describe('parseConnectionString', () => {
  describe('tcp://', () => {
    it('reads host, port and the key from the password part', () => {
      expect(parseConnectionString('tcp://:s3cret@10.1.2.3:50123')).toEqual({
        endpoint: { transport: 'tcp', host: '10.1.2.3', port: 50123 },
        authkey: 's3cret',
      });
    });

    it('percent-decodes the key', () => {
      expect(parseConnectionString('tcp://:p%40ss%3Aw%2Frd%25@127.0.0.1:1').authkey).toBe('p@ss:w/rd%');
    });

    it('takes the password, not the user name, as the key', () => {
      expect(parseConnectionString('tcp://someone:the-key@127.0.0.1:1').authkey).toBe('the-key');
    });

    it('reads the key from an authkey query parameter too, preferring it to the password', () => {
      expect(parseConnectionString('tcp://127.0.0.1:1?authkey=q%26k').authkey).toBe('q&k');
      expect(parseConnectionString('tcp://:pw@127.0.0.1:1?authkey=query').authkey).toBe('query');
    });

    it('has no authkey when the string carries none', () => {
      const parsed = parseConnectionString('tcp://127.0.0.1:1');
      expect(parsed).toEqual({ endpoint: { transport: 'tcp', host: '127.0.0.1', port: 1 } });
      expect('authkey' in parsed).toBe(false);
    });

    it('defaults the port to 50000', () => {
      expect(DEFAULT_PORT).toBe(50000);
      expect(parseConnectionString('tcp://:k@example.com').endpoint).toEqual({ transport: 'tcp', host: 'example.com', port: DEFAULT_PORT });
    });

    it('unwraps a bracketed IPv6 host', () => {
      expect(parseConnectionString('tcp://:k@[::1]:5000').endpoint).toEqual({ transport: 'tcp', host: '::1', port: 5000 });
    });
  });

  describe('unix://', () => {
    it('reads the socket path and the key from ?authkey=', () => {
      expect(parseConnectionString('unix:///run/syncmgr.sock?authkey=KEY')).toEqual({
        endpoint: { transport: 'unix', path: '/run/syncmgr.sock' },
        authkey: 'KEY',
      });
    });

    it('percent-decodes the path and the key', () => {
      expect(parseConnectionString('unix:///tmp/my%20dir/s%23.sock?authkey=a%2Bb%20c')).toEqual({
        endpoint: { transport: 'unix', path: '/tmp/my dir/s#.sock' },
        authkey: 'a+b c',
      });
    });

    it('needs a path', () => {
      expect(codeOf(() => parseConnectionString('unix://'))).toBe('CONFIG_ERROR');
      expect(codeOf(() => parseConnectionString('unix:///?authkey=k'))).toBe('CONFIG_ERROR');
    });
  });

  describe('ws:// and wss://', () => {
    it('strips the key from the URL to dial, keeping path and other query parameters', () => {
      expect(parseConnectionString('ws://:p%40ss@127.0.0.1:8080/sync?x=1')).toEqual({
        endpoint: { transport: 'ws', url: 'ws://127.0.0.1:8080/sync?x=1' },
        authkey: 'p@ss',
      });
      expect(parseConnectionString('ws://127.0.0.1:8080/?authkey=k&x=1')).toEqual({
        endpoint: { transport: 'ws', url: 'ws://127.0.0.1:8080/?x=1' },
        authkey: 'k',
      });
    });

    it('never leaves a user name or password in the URL to dial', () => {
      // The ws library would send them as an HTTP Basic Authorization header.
      const { endpoint } = parseConnectionString('wss://user:pw@example.com/?authkey=q');
      expect(endpoint).toEqual({ transport: 'ws', url: 'wss://example.com/' });
      const url = new URL((endpoint as Extract<Endpoint, { transport: 'ws' }>).url);
      expect([url.username, url.password, url.searchParams.get('authkey')]).toEqual(['', '', null]);
    });
  });

  describe('errors', () => {
    it('fails with CONFIG_ERROR on text that is not a URL', () => {
      for (const text of ['', 'nonsense', '127.0.0.1:50000', '//host:1']) {
        expect(codeOf(() => parseConnectionString(text)), text).toBe('CONFIG_ERROR');
      }
    });

    it('fails with CONFIG_ERROR on an unsupported scheme', () => {
      for (const text of ['http://h:1', 'https://h', 'udp://h:1', 'file:///tmp/s.sock', 'mailto:a@b']) {
        expect(codeOf(() => parseConnectionString(text)), text).toBe('CONFIG_ERROR');
      }
    });

    it('fails with CONFIG_ERROR on a port out of range', () => {
      expect(codeOf(() => parseConnectionString('tcp://:k@127.0.0.1:70000'))).toBe('CONFIG_ERROR');
    });

    it('fails with CONFIG_ERROR on broken percent-encoding in the key or the path', () => {
      expect(codeOf(() => parseConnectionString('tcp://:50%@127.0.0.1:1'))).toBe('CONFIG_ERROR');
      expect(codeOf(() => parseConnectionString('tcp://:%zz@127.0.0.1:1'))).toBe('CONFIG_ERROR');
      expect(codeOf(() => parseConnectionString('unix:///tmp/100%.sock?authkey=k'))).toBe('CONFIG_ERROR');
    });

    it('keeps the key out of the error message', () => {
      for (const text of ['tcp://:TOPSECRET@127.0.0.1:70000', 'ftp://:TOPSECRET@h/', 'unix:///tmp/100%.sock?authkey=TOPSECRET']) {
        try {
          parseConnectionString(text);
          expect.unreachable();
        } catch (err) {
          expect((err as Error).message).not.toContain('TOPSECRET');
        }
      }
    });
  });
});

describe('connectionString', () => {
  const endpoints: Endpoint[] = [
    { transport: 'tcp', host: '127.0.0.1', port: 50000 },
    { transport: 'tcp', host: '::1', port: 1 },
    { transport: 'tcp', host: 'example.com', port: 65535 },
    { transport: 'unix', path: '/run/syncmgr.sock' },
    { transport: 'unix', path: '/tmp/dir with spaces/s.sock' },
    { transport: 'unix', path: '/tmp/odd#dir/what?.sock' },
    { transport: 'unix', path: '/tmp/100%/é.sock' },
    { transport: 'ws', url: 'ws://127.0.0.1:50001/' },
    { transport: 'ws', url: 'wss://example.com/sync?x=1' },
  ];

  for (const endpoint of endpoints) {
    it(`round-trips ${formatEndpoint(endpoint)} with keys that need escaping`, () => {
      for (const key of AWKWARD_KEYS) {
        const text = connectionString(endpoint, key);
        expect(parseConnectionString(text), text).toEqual({ endpoint, authkey: key });
      }
    });
  }

  it('puts the key in the password part for tcp and in ?authkey= for unix', () => {
    expect(connectionString({ transport: 'tcp', host: '127.0.0.1', port: 5 }, 'k@y')).toBe('tcp://:k%40y@127.0.0.1:5');
    expect(connectionString({ transport: 'tcp', host: '::1', port: 5 }, 'k')).toBe('tcp://:k@[::1]:5');
    expect(connectionString({ transport: 'unix', path: '/run/s.sock' }, 'k&y')).toBe('unix:///run/s.sock?authkey=k%26y');
  });

  it('puts the key in the query for ws, so the dial URL comes back unchanged', () => {
    const text = connectionString({ transport: 'ws', url: 'ws://127.0.0.1:9/' }, 'k');
    expect(new URL(text).searchParams.get('authkey')).toBe('k');
    expect(parseConnectionString(text).endpoint).toEqual({ transport: 'ws', url: 'ws://127.0.0.1:9/' });
  });
});

describe('redact', () => {
  it('hides a key in the password part', () => {
    expect(redact('tcp://:s3cret@127.0.0.1:1')).toBe('tcp://:***@127.0.0.1:1');
    expect(redact('ws://user:s3cret@h/')).toBe('ws://user:***@h/');
  });

  it('hides a key in the query, keeping other parameters', () => {
    expect(redact('unix:///run/s.sock?authkey=s3cret')).toBe('unix:///run/s.sock?authkey=***');
    expect(redact('ws://h:1/?authkey=s3cret&x=1')).toBe('ws://h:1/?authkey=***&x=1');
  });

  it('hides every awkward key connectionString can produce, for every transport', () => {
    const endpoints: Endpoint[] = [
      { transport: 'tcp', host: '127.0.0.1', port: 1 },
      { transport: 'unix', path: '/tmp/s.sock' },
      { transport: 'ws', url: 'ws://127.0.0.1:1/' },
    ];
    for (const endpoint of endpoints) {
      for (const key of AWKWARD_KEYS.filter((k) => k !== '***')) {
        const text = connectionString(endpoint, key);
        const hidden = redact(text);
        expect(hidden, text).toContain('***');
        for (const encoded of [key, encodeURIComponent(key), new URLSearchParams({ k: key }).toString().slice(2)]) {
          expect(hidden, text).not.toContain(encoded);
        }
      }
    }
  });

  it('leaves a string without a key as it is', () => {
    expect(redact('tcp://127.0.0.1:50000')).toBe('tcp://127.0.0.1:50000');
    expect(redact('unix:///run/s.sock')).toBe('unix:///run/s.sock');
  });
});

describe('formatEndpoint', () => {
  it('prints an address without credentials, bracketing IPv6 hosts', () => {
    expect(formatEndpoint({ transport: 'tcp', host: '127.0.0.1', port: 50000 })).toBe('tcp://127.0.0.1:50000');
    expect(formatEndpoint({ transport: 'tcp', host: '::1', port: 1 })).toBe('tcp://[::1]:1');
    expect(formatEndpoint({ transport: 'unix', path: '/run/s.sock' })).toBe('unix:///run/s.sock');
    expect(formatEndpoint({ transport: 'ws', url: 'ws://127.0.0.1:1/' })).toBe('ws://127.0.0.1:1/');
  });
});
