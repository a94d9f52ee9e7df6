/**
 * The HMAC handshake: fixed vectors from docs/PROTOCOL-NOTES §2.4 (computed with CPython's hmac),
 * answers CPython really sent (test/fixtures/cpython-handshakes.json, extracted verbatim from the
 * relay captures by extract_handshakes.py), and both sides run against each other over an
 * in-memory frame pair.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHALLENGE, FAILURE, REFUSED, WELCOME } from '../../../src/protocol/constants.js';
import {
  answerChallenge,
  clientHandshake,
  computeAnswer,
  createChallengeMessage,
  deliverChallenge,
  serverHandshake,
  verifyAnswer,
} from '../../../src/protocol/handshake.js';
import { framePair } from '../../helpers/frame-pair.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const KEY = Buffer.from('password');
const WRONG = Buffer.from('wrong-key');
/** Bytes 0, 1, ..., n-1. */
const counting = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i));
const SHA256_PREFIX = Buffer.from('{sha256}');

/** §2.4: `{sha256}` + bytes 0..39, the 48-byte message a 3.12+ peer sends. */
const MODERN_M = Buffer.concat([SHA256_PREFIX, counting(40)]);
/** §2.4: bytes 0..19, the 20-byte message a 3.11 peer sends. */
const LEGACY_M = counting(20);

describe('computeAnswer', () => {
  it('answers a legacy 20-byte challenge with raw HMAC-MD5 (PROTOCOL-NOTES §2.4)', () => {
    expect(computeAnswer(KEY, LEGACY_M).toString('hex')).toBe('8477eee15aeeb85e7ed2a828ac3828b9');
  });

  it('answers a {sha256} challenge with {sha256} + HMAC-SHA256 over the whole message (PROTOCOL-NOTES §2.4)', () => {
    expect(computeAnswer(KEY, MODERN_M).toString('hex')).toBe(
      '7b7368613235367d' + 'c78bca77d832c64a2d71ffa962fb0505b5abc895a6cb7d0b9fa73ce309ad8d30',
    );
  });

  // Values from CPython 3.13's multiprocessing.connection._create_response(b'password', M).
  const OTHER_DIGESTS: Array<[string, string]> = [
    ['md5', '7b6d64357d83ff98f02c82e56bb8a57accc912c669'],
    ['sha384', '7b7368613338347d659cbba3199cc5d8a216becf3e4d760a7c3376c108e466088225c1c2955ffccc71b9fc3fb88599de96a9c2e2f0cbd391'],
    ['sha3_256', '7b736861335f3235367d0a36ec9309b4a6fdc15caea1f43db9fa1aa2a3ef1ab972d6d55f2b517b4c1118'],
    ['sha3_384', '7b736861335f3338347dd901d7a51e3037fe7ec968c4b9c09143e6554b4bb48c8681ea14a2da012f8ed9f6af9a06a90e91ce5a11be7bfda99ac3'],
  ];
  for (const [digest, answer] of OTHER_DIGESTS) {
    it(`answers a {${digest}} challenge as CPython 3.13 does`, () => {
      const message = Buffer.concat([Buffer.from(`{${digest}}`), counting(40)]);
      expect(computeAnswer(KEY, message).toString('hex')).toBe(answer);
    });
  }

  it('includes the {sha256} prefix in the MAC input', () => {
    const withoutPrefix = createHmac('sha256', KEY).update(counting(40)).digest();
    expect(computeAnswer(KEY, MODERN_M).subarray(8).equals(withoutPrefix)).toBe(false);
  });

  const REFUSED_CHALLENGES: Array<[string, Buffer]> = [
    // CPython 3.12+ refuses challenges shorter than 20 bytes, even a legacy-looking 16-byte one.
    ['a 16-byte challenge', counting(16)],
    ['an empty challenge', Buffer.alloc(0)],
    ['a challenge without a {digest} prefix', counting(48)],
    ['a challenge with a digest outside the allow-list', Buffer.concat([Buffer.from('{sha1}'), counting(40)])],
    ['a challenge whose prefix never closes', Buffer.concat([Buffer.from('{sha256'), counting(40)])],
    ['a challenge with an empty digest name', Buffer.concat([Buffer.from('{}'), counting(40)])],
  ];
  for (const [name, message] of REFUSED_CHALLENGES) {
    it(`refuses ${name} with AUTH_FAILED`, () => {
      expect(() => computeAnswer(KEY, message)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED', name: 'AuthenticationError' }));
    });
  }
});

describe('verifyAnswer', () => {
  const MODERN_ANSWER = hex('7b7368613235367d c78bca77d832c64a2d71ffa962fb0505b5abc895a6cb7d0b9fa73ce309ad8d30');
  /** §2.4: what a 3.11 client answers to MODERN_M (HMAC-MD5 over all 48 bytes). */
  const LEGACY_ANSWER = hex('3c51d31eef8efa28b498f9d62b59b583');

  it('accepts the {sha256} answer of a 3.12+ peer', () => {
    expect(verifyAnswer(KEY, MODERN_M, MODERN_ANSWER)).toBe(true);
  });

  it('rejects a {sha256} answer computed with another key', () => {
    expect(verifyAnswer(KEY, MODERN_M, computeAnswer(WRONG, MODERN_M))).toBe(false);
  });

  it('rejects a {sha256} answer to another challenge', () => {
    const other = Buffer.concat([SHA256_PREFIX, counting(41).subarray(1)]);
    expect(verifyAnswer(KEY, other, MODERN_ANSWER)).toBe(false);
  });

  it('rejects a 16-byte HMAC-MD5 answer by default', () => {
    expect(verifyAnswer(KEY, MODERN_M, LEGACY_ANSWER)).toBe(false);
  });

  it('accepts a 16-byte HMAC-MD5 answer over the whole message when acceptLegacyMd5 is set', () => {
    expect(verifyAnswer(KEY, MODERN_M, LEGACY_ANSWER, { acceptLegacyMd5: true })).toBe(true);
  });

  it('rejects a wrong 16-byte HMAC-MD5 answer even when acceptLegacyMd5 is set', () => {
    const wrong = createHmac('md5', WRONG).update(MODERN_M).digest();
    expect(verifyAnswer(KEY, MODERN_M, wrong, { acceptLegacyMd5: true })).toBe(false);
  });

  it('rejects a 20-byte answer even when acceptLegacyMd5 is set (an MD5 MAC is 16 bytes)', () => {
    expect(verifyAnswer(KEY, MODERN_M, Buffer.concat([LEGACY_ANSWER, Buffer.alloc(4)]), { acceptLegacyMd5: true })).toBe(false);
  });

  it('rejects a {md5}-prefixed answer unless acceptLegacyMd5 is set', () => {
    const answer = Buffer.concat([Buffer.from('{md5}'), createHmac('md5', KEY).update(MODERN_M).digest()]);
    expect(verifyAnswer(KEY, MODERN_M, answer)).toBe(false);
    expect(verifyAnswer(KEY, MODERN_M, answer, { acceptLegacyMd5: true })).toBe(true);
  });

  it('accepts a stronger digest than the one announced, as CPython does', () => {
    const answer = Buffer.concat([Buffer.from('{sha384}'), createHmac('sha384', KEY).update(MODERN_M).digest()]);
    expect(verifyAnswer(KEY, MODERN_M, answer)).toBe(true);
  });

  const MALFORMED: Array<[string, Buffer]> = [
    ['an empty answer', Buffer.alloc(0)],
    ['a truncated MAC', MODERN_ANSWER.subarray(0, MODERN_ANSWER.length - 1)],
    ['a MAC with an extra byte', Buffer.concat([MODERN_ANSWER, Buffer.from([0])])],
    ['an answer without a prefix', MODERN_ANSWER.subarray(8)],
    ['an answer with an unknown digest', Buffer.concat([Buffer.from('{sha1}'), MODERN_ANSWER.subarray(8)])],
  ];
  for (const [name, answer] of MALFORMED) {
    it(`rejects ${name}`, () => {
      expect(verifyAnswer(KEY, MODERN_M, answer, { acceptLegacyMd5: true })).toBe(false);
    });
  }
});

describe('createChallengeMessage', () => {
  it('is {sha256} followed by the given random bytes', () => {
    expect(createChallengeMessage(counting(40)).equals(MODERN_M)).toBe(true);
  });

  it('draws 40 fresh random bytes by default, as CPython 3.12+ does', () => {
    const a = createChallengeMessage();
    const b = createChallengeMessage();
    expect(a.length).toBe(48);
    expect(a.subarray(0, 8).equals(SHA256_PREFIX)).toBe(true);
    expect(a.equals(b)).toBe(false);
  });

  it('makes challenges that our own answers verify', () => {
    const message = createChallengeMessage();
    expect(verifyAnswer(KEY, message, computeAnswer(KEY, message))).toBe(true);
  });
});

describe('CPython captures', () => {
  interface Exchange {
    conn: number;
    seq: [number, number];
    challenger: 'server' | 'client';
    challenge_hex: string;
    response_hex: string;
    algorithm: string;
    valid: boolean;
  }
  interface Capture {
    source: string;
    client_python: string;
    server_python: string;
    authkey: string;
    wrong_authkey: string;
    exchanges: Exchange[];
  }
  const { captures } = JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/cpython-handshakes.json'), 'utf8')) as {
    captures: Capture[];
  };
  const isModern = (version: string): boolean => Number(version.split('.')[1]) >= 12;
  const split = (exchange: Exchange) => {
    const frame = hex(exchange.challenge_hex);
    expect(frame.subarray(0, CHALLENGE.length).equals(CHALLENGE)).toBe(true);
    return { message: frame.subarray(CHALLENGE.length), response: hex(exchange.response_hex) };
  };

  it('holds the captures this suite expects', () => {
    expect(captures.map((capture) => capture.source)).toContain('vectors-py313.json');
    for (const capture of captures) expect(capture.exchanges.length).toBeGreaterThan(10);
  });

  for (const capture of captures) {
    const label = `${capture.client_python} client ↔ ${capture.server_python} server (${capture.source})`;
    describe(label, () => {
      const key = Buffer.from(capture.authkey);
      const good = capture.exchanges.filter((exchange) => exchange.valid);
      const bad = capture.exchanges.filter((exchange) => !exchange.valid);

      it('reproduces byte for byte every answer a 3.12+ peer sent, and every answer to a 20-byte challenge', () => {
        let checked = 0;
        for (const exchange of good) {
          const answerer = exchange.challenger === 'server' ? capture.client_python : capture.server_python;
          const { message, response } = split(exchange);
          // A 3.11 peer answers a {sha256} challenge with raw MD5; we answer it the 3.12+ way.
          if (!isModern(answerer) && message.length !== 20) continue;
          expect(computeAnswer(key, message).toString('hex'), `conn ${exchange.conn} seq ${exchange.seq}`).toBe(exchange.response_hex);
          checked += 1;
        }
        expect(checked).toBeGreaterThan(0);
      });

      it('accepts every answer CPython accepted when legacy MD5 is allowed', () => {
        for (const exchange of good) {
          const { message, response } = split(exchange);
          expect(verifyAnswer(key, message, response, { acceptLegacyMd5: true }), `conn ${exchange.conn} seq ${exchange.seq}`).toBe(true);
        }
      });

      it('accepts exactly the non-MD5 answers when legacy MD5 is not allowed', () => {
        for (const exchange of good) {
          const { message, response } = split(exchange);
          expect(verifyAnswer(key, message, response), `conn ${exchange.conn} seq ${exchange.seq}`).toBe(exchange.algorithm !== 'md5');
        }
      });

      it('rejects the answer CPython rejected, and computes it from the wrong key', () => {
        expect(bad).toHaveLength(1);
        const { message, response } = split(bad[0]!);
        expect(verifyAnswer(key, message, response, { acceptLegacyMd5: true })).toBe(false);
        const wrongKey = Buffer.from(capture.wrong_authkey);
        const answerer = capture.client_python;
        if (isModern(answerer) || message.length === 20) {
          expect(computeAnswer(wrongKey, message).equals(response)).toBe(true);
        } else {
          expect(createHmac('md5', wrongKey).update(message).digest().equals(response)).toBe(true);
        }
      });
    });
  }
});

describe('serverHandshake / clientHandshake', () => {
  it('authenticates both ends with the same key, in six frames shaped like CPython 3.12+', async () => {
    const [server, client] = framePair();
    await Promise.all([serverHandshake(server, KEY), clientHandshake(client, KEY)]);
    const lengths = [server.sent[0], client.sent[0], server.sent[1], client.sent[1], server.sent[2], client.sent[2]].map((f) => f?.length);
    expect(lengths).toEqual([59, 40, 9, 59, 40, 9]);
    expect(server.sent[0]!.subarray(0, 19).equals(Buffer.concat([CHALLENGE, SHA256_PREFIX]))).toBe(true);
    expect(client.sent[1]!.subarray(0, 19).equals(Buffer.concat([CHALLENGE, SHA256_PREFIX]))).toBe(true);
    expect(server.sent[1]!.equals(WELCOME)).toBe(true);
    expect(client.sent[2]!.equals(WELCOME)).toBe(true);
    expect(server.sent).toHaveLength(3);
    expect(client.sent).toHaveLength(3);
  });

  it('fails both ends with AUTH_FAILED when the client has the wrong key, after three frames', async () => {
    const [server, client] = framePair();
    const [serverResult, clientResult] = await Promise.allSettled([serverHandshake(server, KEY), clientHandshake(client, WRONG)]);
    expect(serverResult).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_FAILED' } });
    expect(clientResult).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_FAILED' } });
    expect(server.sent.map((frame) => frame.subarray(0, 9).toString('latin1'))).toEqual(['#CHALLENG', FAILURE.toString('latin1')]);
    expect(client.sent).toHaveLength(1);
  });

  it('fails the client with AUTH_FAILED when the server has the wrong key', async () => {
    const [server, client] = framePair();
    const [serverResult, clientResult] = await Promise.allSettled([serverHandshake(server, WRONG), clientHandshake(client, KEY)]);
    expect(serverResult).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_FAILED' } });
    expect(clientResult).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_FAILED' } });
  });

  it('makes the client refuse a server that skips the check but cannot answer (mutual authentication)', async () => {
    const [server, client] = framePair();
    // An impostor: welcomes any answer, then answers the client's challenge with the wrong key.
    const impostor = (async () => {
      server.send(Buffer.concat([CHALLENGE, createChallengeMessage()]));
      await server.receive();
      server.send(WELCOME);
      await answerChallenge(server, WRONG);
    })();
    const [impostorResult, clientResult] = await Promise.allSettled([impostor, clientHandshake(client, KEY)]);
    expect(clientResult).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_FAILED' } });
    expect(client.sent.at(-1)!.equals(FAILURE)).toBe(true);
    // The impostor hears the verdict.
    expect(impostorResult).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_FAILED' } });
  });

  it('rejects a 3.11-style MD5 client unless acceptLegacyMd5, and then completes with it', async () => {
    /** A CPython 3.11 client: raw MD5 answers, a 20-byte challenge of its own. */
    const legacyClient = async (io: ReturnType<typeof framePair>[1]): Promise<void> => {
      const challenge = (await io.receive()).subarray(CHALLENGE.length);
      io.send(createHmac('md5', KEY).update(challenge).digest());
      const verdict = await io.receive();
      if (!verdict.equals(WELCOME)) throw Object.assign(new Error('rejected'), { code: 'AUTH_FAILED' });
      const mine = counting(20);
      io.send(Buffer.concat([CHALLENGE, mine]));
      const answer = await io.receive();
      // A 3.12+ server answers a legacy challenge with raw HMAC-MD5 (16 bytes, no prefix).
      io.send(answer.equals(createHmac('md5', KEY).update(mine).digest()) ? WELCOME : FAILURE);
    };

    const [strict, strictPeer] = framePair();
    const refused = await Promise.allSettled([serverHandshake(strict, KEY), legacyClient(strictPeer)]);
    expect(refused).toMatchObject([
      { status: 'rejected', reason: { code: 'AUTH_FAILED' } },
      { status: 'rejected', reason: { code: 'AUTH_FAILED' } },
    ]);

    const [lenient, lenientPeer] = framePair();
    await Promise.all([serverHandshake(lenient, KEY, { acceptLegacyMd5: true }), legacyClient(lenientPeer)]);
    expect(lenientPeer.sent.at(-1)!.equals(WELCOME)).toBe(true);
    expect(lenient.sent[2]!.length).toBe(16);
  });

  it('turns a #REFUSED# frame into TOO_MANY_CONNECTIONS', async () => {
    const [server, client] = framePair();
    server.send(Buffer.concat([REFUSED, Buffer.from('too many connections (the server allows 2)')]));
    await expect(clientHandshake(client, KEY)).rejects.toMatchObject({ code: 'TOO_MANY_CONNECTIONS', name: 'ConnectionError' });
    expect(client.sent).toHaveLength(0);
  });

  it('turns a bare #REFUSED# frame into TOO_MANY_CONNECTIONS', async () => {
    const [server, client] = framePair();
    server.send(REFUSED);
    await expect(clientHandshake(client, KEY)).rejects.toMatchObject({ code: 'TOO_MANY_CONNECTIONS' });
  });

  it('fails with AUTH_FAILED when the first frame is not a challenge', async () => {
    const [server, client] = framePair();
    server.send(Buffer.from('{"id":1,"result":null}'));
    await expect(clientHandshake(client, KEY)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(client.sent).toHaveLength(0);
  });

  it('fails with AUTH_FAILED when the verdict is neither #WELCOME# nor #FAILURE#', async () => {
    const [server, client] = framePair();
    const fake = (async () => {
      server.send(Buffer.concat([CHALLENGE, createChallengeMessage()]));
      await server.receive();
      server.send(Buffer.from('#WELCOME#!'));
    })();
    await expect(clientHandshake(client, KEY)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await fake;
  });

  it('fails the server with CONNECTION_CLOSED when the client goes away mid-handshake', async () => {
    const [server, client] = framePair();
    const handshake = deliverChallenge(server, KEY);
    await client.receive();
    client.close();
    await expect(handshake).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });
});
