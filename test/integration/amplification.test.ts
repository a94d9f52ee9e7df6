/**
 * Issue 18 §2: a few bytes in must never make the server hold gigabytes. A 1 MiB value, then 8
 * connections each writing 8 requests `getMany` of its key 200 times in one send (200 MiB of answer
 * each) and never reading: the server, its heap capped at 1 GiB, survives with bounded memory and
 * answers a bystander all along. The figures for 1, 8 and 64 connections: bench/amplification.ts.
 *
 * The server runs from dist/ (`npm test` builds it first).
 */
import { describe, expect, it } from 'vitest';
import { runAttack } from '../../bench/amplification.js';

describe('the getMany amplification attack', () => {
  it('leaves the server alive, its memory bounded, and a bystander answered', { timeout: 60_000 }, async () => {
    const figures = await runAttack({ connections: 8, frames: 8, keys: 200, transport: 'tcp', durationMs: 3000, heapMiB: 1024 });
    expect(figures.alive).toBe(true);
    expect(figures.pingFailures).toBe(0);
    expect(figures.pings).toBeGreaterThan(0);
    // Generous bounds: the point is no gigabytes and no stall of seconds (the bench prints the figures).
    expect(figures.peakRssAboveIdleMiB).toBeLessThan(500);
    expect(figures.pingMaxMs).toBeLessThan(2000);
  });
});
