/**
 * One authenticated connection: parses its requests, answers server operations (hello, ping,
 * cancel, atomic), dispatches the rest and writes the responses. It also owns what its client
 * holds and waits for, and gives all of it back the moment the connection ends.
 */
import { OperationError, toWire } from '../errors.js';
import { FIRST_BYTE_JSON, FIRST_BYTE_PICKLE, PROTOCOL_VERSION } from '../protocol/constants.js';
import { encodeResultFrame } from '../protocol/fast-path.js';
import { jsonByteLengthWithin } from '../protocol/json-size.js';
import type { FrameError } from '../protocol/frame.js';
import {
  encodeError,
  encodeEvent,
  encodeResultWithin,
  MessageError,
  parseBatch,
  parseRequest,
  type Request,
  type RequestId,
} from '../protocol/message.js';
import { makeDump, restoreDump } from '../persistence/dump.js';
import type { Channel } from '../transport/channel.js';
import { VERSION } from '../version.js';
import { dispatchObjectOp } from '../core/dispatch.js';
import type { RequestJournal } from '../core/effects.js';
import type { Store } from '../core/store.js';
import type { Holding, SessionHandle, Waiter } from '../core/waiting.js';

/** What a session needs from its server. */
export interface SessionHost {
  readonly registry: Store;
  readonly instanceId: string;
  readonly maxFrameBytes: number;
  readonly isClosing: boolean;
  /** A session silent for longer than this is ended (docs/PROTOCOL.md §4.4). */
  readonly sessionTimeoutMs: number;
  /** Set when changes are persisted (--data-dir): see core/effects.ts. */
  readonly journal?: RequestJournal | undefined;
  log(line: string): void;
}

export type EndReason = 'session-closed' | 'session-timeout';

export class Session implements SessionHandle {
  readonly sessionId: number;
  /**
   * When the server last saw the client alive: the time of the sweep that saw it move, which is
   * never before its last byte, so the session is never cut before the full timeout.
   */
  private lastSeen = Date.now();
  private readonly channel: Channel;
  private readonly host: SessionHost;
  private greeted = false;
  /** Set by run() when the request's commit woke other waiters; read by serve(). */
  private wokeOthers = false;
  private sawFirstFrame = false;
  private ended = false;
  private readonly holdings = new Set<Holding>();
  /** Every blocked request, dropped when the session ends. */
  private readonly waiters = new Set<Waiter<unknown>>();
  /**
   * The same waits by request id, for `cancel`. Kept apart from {@link waiters}: a client that
   * reuses an id while a wait of it is outstanding (against docs/PROTOCOL.md §4.1) overwrites the
   * entry here, and a wait known only by id would then outlive the session (a barrier place of a
   * dead client, an orphan in a wait queue).
   */
  private readonly waitersById = new Map<unknown, Waiter<unknown>>();
  /** The host's journal, or undefined in memory (then nothing below pays for persistence). */
  readonly journal: RequestJournal | undefined;

  constructor(sessionId: number, channel: Channel, host: SessionHost) {
    this.sessionId = sessionId;
    this.channel = channel;
    this.host = host;
    this.journal = host.journal;
    channel.setFrameHandler((payload) => this.onFrame(payload));
    channel.setFrameErrorHandler((err) => this.onFrameError(err));
    channel.onClose(() => this.end('session-closed'));
  }

  get isOpen(): boolean {
    // Closed as well once the server is closing: server.close() ends the sessions one by one, and
    // the lock (permit, item) of one session ended first must not be granted to a waiter of a
    // session not ended yet, which is to be answered SHUTTING_DOWN, not handed a grant at once lost.
    return !this.ended && !this.host.isClosing;
  }

  /** Sends a server-initiated event (docs/PROTOCOL.md §5). */
  sendEvent(event: string, data?: unknown): void {
    if (this.channel.isOpen) this.channel.send(encodeEvent(event, data));
  }

  hold(holding: Holding): void {
    this.holdings.add(holding);
  }

  unhold(holding: Holding): void {
    this.holdings.delete(holding);
  }

  addWaiter(waiter: Waiter<unknown>): void {
    this.waiters.add(waiter);
    this.waitersById.set(waiter.requestId, waiter);
  }

  removeWaiter(waiter: Waiter<unknown>): void {
    this.waiters.delete(waiter);
    if (this.waitersById.get(waiter.requestId) === waiter) this.waitersById.delete(waiter.requestId);
  }

  /**
   * Ends the session: drops its waits, then releases everything it holds, so the next waiters in
   * line (other sessions) are granted at once. On a timeout the client is told (`lock-lost`
   * events) before the connection is closed, in case it is still there to read them.
   */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    for (const waiter of [...this.waiters]) waiter.drop();
    for (const holding of [...this.holdings]) holding.release(reason);
    this.holdings.clear();
    if (reason === 'session-timeout') {
      this.host.log(`session ${this.sessionId} (${this.channel.remoteAddress}) silent for over ${this.host.sessionTimeoutMs} ms: ending it`);
      // The dropped waits are answered from promise callbacks: let them reach the channel first.
      setImmediate(() => this.channel.end());
    }
  }

  /**
   * The server's sweeper calls this with the time: ends the session once its peer has shown no
   * life (no byte in, none of its answers taken) for the session timeout.
   */
  sweep(now: number): void {
    if (this.channel.peerMoved()) this.lastSeen = now;
    else if (now - this.lastSeen > this.host.sessionTimeoutMs) this.end('session-timeout');
  }

  private onFrame(payload: Buffer): void {
    if (!this.sawFirstFrame) {
      this.sawFirstFrame = true;
      if (payload[0] === FIRST_BYTE_PICKLE) {
        // Reserved: CPython manager clients send pickles here (first byte 0x80, the PROTO opcode).
        this.fail('PROTOCOL_ERROR', 'pickled (CPython manager) requests are not served by this server version; send JSON requests');
        return;
      }
      if (payload[0] !== FIRST_BYTE_JSON) {
        this.fail('PROTOCOL_ERROR', 'the first message after the handshake must be a JSON object (first byte "{")');
        return;
      }
    }
    let request: Request;
    try {
      request = parseRequest(payload);
    } catch (err) {
      const { code, message, id } = err as MessageError;
      this.channel.send(encodeError(id, { code, message }));
      return;
    }
    this.serve(request);
  }

  private serve(request: Request): void {
    if (this.journal !== undefined) {
      this.serveJournaled(request, this.journal);
      return;
    }
    const { id } = request;
    let result: unknown;
    try {
      result = this.run(request);
    } catch (err) {
      this.reply(id, err, true);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.reply(id, value, false),
        (err) => this.reply(id, err, true),
      );
    } else if (this.wokeOthers) {
      // This request handed something on (a released lock, a put item): the grants are answered
      // from promise callbacks. Answering after them puts the next holder's write first, which is
      // the one everyone waits on.
      this.wokeOthers = false;
      queueMicrotask(() => this.reply(id, result, false));
    } else {
      this.reply(id, result, false);
    }
  }

  /**
   * {@link serve} when changes are persisted: the request's changes (all of an atomic batch's)
   * went into one log record at its commit, and the answer waits, under fsync `always`, until every change it may
   * have observed is on disk (docs/PERSISTENCE.md).
   */
  private serveJournaled(request: Request, journal: RequestJournal): void {
    const { id } = request;
    let result: unknown;
    let failed = false;
    try {
      result = this.run(request);
    } catch (err) {
      result = err;
      failed = true;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.replyWhenDurable(journal, id, value, false),
        (err) => this.replyWhenDurable(journal, id, err, true),
      );
    } else {
      this.replyWhenDurable(journal, id, result, failed);
    }
  }

  private replyWhenDurable(journal: RequestJournal, id: RequestId, value: unknown, failed: boolean): void {
    if (journal.holdsAnswers && journal.whenDurable(() => this.reply(id, value, failed))) return;
    this.reply(id, value, failed);
  }

  private run(request: Request): unknown {
    if (request.type === undefined) return this.serverOp(request);
    this.checkServing();
    const context = this.host.registry.begin(this, request.id, false);
    const result = dispatchObjectOp(this.host.registry, request, context);
    this.wokeOthers = context.commit();
    return result;
  }

  private checkServing(): void {
    if (!this.greeted) {
      throw new OperationError('HELLO_REQUIRED', 'send a hello request before any other (docs/PROTOCOL.md §4.2)');
    }
    if (this.host.isClosing) throw new OperationError('SHUTTING_DOWN', 'the server is shutting down; reconnect to its successor');
  }

  private serverOp(request: Request): unknown {
    switch (request.op) {
      case 'hello':
        return this.hello(request.args);
      case 'ping':
        return 'pong';
      case 'cancel':
        return this.cancel(request.args);
      case 'atomic':
        this.checkServing();
        return this.atomic(request);
      case 'snapshot':
        // Every object at this instant, as a dump (docs/PERSISTENCE.md §dump).
        this.checkServing();
        return makeDump(this.host.registry, this.host.instanceId);
      case 'restore':
        this.checkServing();
        return { restored: restoreDump(this.host.registry, request.args[0]) };
      default:
        throw new OperationError(
          'UNKNOWN_METHOD',
          `unknown server operation ${JSON.stringify(request.op)}; server operations are hello, ping, cancel, atomic, snapshot and restore`,
        );
    }
  }

  private hello(args: unknown[]): unknown {
    const info = args[0];
    const version = info !== null && typeof info === 'object' ? (info as { protocol?: unknown }).protocol : undefined;
    if (version !== PROTOCOL_VERSION) {
      throw new OperationError(
        'UNSUPPORTED_PROTOCOL',
        `this server speaks protocol ${PROTOCOL_VERSION}; the hello asked for ${JSON.stringify(version)}`,
        { protocol: PROTOCOL_VERSION },
      );
    }
    this.greeted = true;
    return {
      protocol: PROTOCOL_VERSION,
      server: `syncmgr/${VERSION}`,
      instance: this.host.instanceId,
      session: this.sessionId,
      maxFrameBytes: this.host.maxFrameBytes,
      sessionTimeoutMs: this.host.sessionTimeoutMs,
      heartbeatMs: Math.floor(this.host.sessionTimeoutMs / 3),
      // `over` while writes that add data are refused (--max-memory).
      memory: this.host.registry.limits?.memory?.over === true ? 'over' : 'ok',
    };
  }

  /** cancel(requestId) → whether a wait of that request was still pending (it fails with ABORTED). */
  private cancel(args: unknown[]): boolean {
    const waiter = this.waitersById.get(args[0]);
    if (waiter === undefined) return false;
    waiter.cancel();
    return true;
  }

  /**
   * atomic([op, ...]) → [result, ...]: runs every operation with nothing interleaved, or none of
   * them. Each change keeps its inverse; on the first failure they are applied in reverse and the
   * error names the failed operation. Wake-ups of other clients wait for the commit.
   */
  private atomic(request: Request): unknown[] {
    let batch: Request[];
    try {
      batch = parseBatch(request.args[0], request.id);
    } catch (err) {
      throw new OperationError((err as MessageError).code, (err as MessageError).message);
    }
    const context = this.host.registry.begin(this, request.id, true);
    const results: unknown[] = [];
    for (let index = 0; index < batch.length; index++) {
      const op = batch[index]!;
      try {
        results.push(dispatchObjectOp(this.host.registry, op, context));
      } catch (err) {
        context.rollback();
        const wire = toWire(err);
        throw new OperationError(
          wire.code as never,
          `atomic operation #${index} (${op.type}.${op.op} on ${JSON.stringify(op.name)}) failed, nothing was applied: ${wire.message}`,
          { index, type: op.type, name: op.name, op: op.op, ...(wire.details !== undefined && { cause: wire.details }) },
        );
      }
    }
    // Refused here rather than when answering, so that nothing of the batch is applied.
    if (jsonByteLengthWithin(results, this.host.maxFrameBytes) < 0) {
      context.rollback();
      throw resultTooLarge(this.host.maxFrameBytes);
    }
    context.commit();
    return results;
  }

  private reply(id: RequestId, value: unknown, failed: boolean): void {
    if (!this.channel.isOpen) return;
    if (failed) {
      this.channel.send(encodeError(id, toWire(value)));
      return;
    }
    // Scalar and flat-object results as a whole frame written byte by byte (fast-path.ts); the
    // rest as JSON text, measured before it is built.
    const maxBytes = this.host.maxFrameBytes;
    const frame = encodeResultFrame(id, value, maxBytes);
    if (frame !== undefined) {
      this.channel.sendFrame(frame);
      return;
    }
    let text: string;
    try {
      text = encodeResultWithin(id, value, maxBytes) ?? encodeError(id, toWire(resultTooLarge(maxBytes)));
    } catch (err) {
      text = encodeError(id, toWire(err));
    }
    this.channel.send(text);
  }

  /** Framing violations after authentication: say what was wrong, then close. */
  private onFrameError(err: FrameError): void {
    this.fail(err.code, err.message);
  }

  private fail(code: string, message: string): void {
    this.host.log(`closing session ${this.sessionId} (${this.channel.remoteAddress}): ${message}`);
    this.channel.send(encodeError(null, { code, message }));
    this.channel.end();
  }
}

function resultTooLarge(maxBytes: number): OperationError {
  return new OperationError(
    'RESULT_TOO_LARGE',
    `the result would be larger than the server's frame limit of ${maxBytes} bytes (serve --max-frame), so it was not sent and nothing was changed; ask for less at a time (fewer keys, a slice)`,
    { maxBytes },
  );
}
