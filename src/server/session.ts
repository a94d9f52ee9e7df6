/**
 * One authenticated connection: parses its requests, answers hello, dispatches the rest and writes
 * the responses. Owns nothing but its channel yet; later, what the client holds (locks, waits).
 */
import { OperationError, toWire } from '../errors.js';
import { FIRST_BYTE_JSON, FIRST_BYTE_PICKLE, PROTOCOL_VERSION } from '../protocol/constants.js';
import type { FrameError } from '../protocol/frame.js';
import {
  encodeError,
  encodeEvent,
  encodeResult,
  MessageError,
  parseRequest,
  type Request,
  type RequestId,
} from '../protocol/message.js';
import type { Channel } from '../transport/channel.js';
import { VERSION } from '../version.js';
import { dispatchObjectOp } from './dispatch.js';
import type { OpContext } from './objects/types.js';
import type { Registry } from './registry.js';

/** What a session needs from its server. */
export interface SessionHost {
  readonly registry: Registry;
  readonly instanceId: string;
  readonly maxFrameBytes: number;
  readonly isClosing: boolean;
  log(line: string): void;
}

export class Session implements OpContext {
  readonly sessionId: number;
  private readonly channel: Channel;
  private readonly host: SessionHost;
  private greeted = false;
  private sawFirstFrame = false;

  constructor(sessionId: number, channel: Channel, host: SessionHost) {
    this.sessionId = sessionId;
    this.channel = channel;
    this.host = host;
    channel.setFrameHandler((payload) => this.onFrame(payload));
    channel.setFrameErrorHandler((err) => this.onFrameError(err));
  }

  /** Sends a server-initiated event (docs/PROTOCOL.md §5). */
  sendEvent(event: string, data?: unknown): void {
    this.channel.send(encodeEvent(event, data));
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
    } else {
      this.reply(id, result, false);
    }
  }

  private run(request: Request): unknown {
    if (request.type === undefined) return this.serverOp(request);
    if (!this.greeted) {
      throw new OperationError('HELLO_REQUIRED', 'send a hello request before any other (docs/PROTOCOL.md §4.2)');
    }
    if (this.host.isClosing) throw new OperationError('SHUTTING_DOWN', 'the server is shutting down; reconnect to its successor');
    return dispatchObjectOp(this.host.registry, request, this);
  }

  private serverOp(request: Request): unknown {
    switch (request.op) {
      case 'hello':
        return this.hello(request.args);
      case 'ping':
        return 'pong';
      default:
        throw new OperationError('UNKNOWN_METHOD', `unknown server operation ${JSON.stringify(request.op)}; server operations are hello and ping`);
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
    };
  }

  private reply(id: RequestId, value: unknown, failed: boolean): void {
    if (!this.channel.isOpen) return;
    if (failed) {
      this.channel.send(encodeError(id, toWire(value)));
      return;
    }
    let text: string;
    try {
      text = encodeResult(id, value);
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
