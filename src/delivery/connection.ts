import { randomUUID } from 'node:crypto';
import type { ConversationRef, DomainEvent } from '../core/events.js';
import type { Id, User } from '../core/model.js';

/** The only part of a WebSocket the delivery layer touches. */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
}

/**
 * How one dialect shows domain events on its sockets. The hub asks `key` for each
 * connection and renders `frame` once per distinct key, so an event is encoded once per
 * variant (e.g. sender / receiver), not once per socket.
 */
export interface EventRenderer<S = unknown> {
  readonly name: string;
  /** The variant of the frame this connection gets, or null if it does not show this event. */
  key(event: DomainEvent, conn: Connection<S>): string | null;
  frame(event: DomainEvent, conn: Connection<S>): string;
}

export const OPEN = 1;

/** Close codes (docs/codes.md). */
export const CloseCodes = {
  normal: 1000,
  goingAway: 1001,
  serviceRestart: 1012,
  policyViolation: 1008,
  tooBig: 1009,
  authFailed: 4000,
  invalidToken: 4001,
  notAllowed: 4003,
  slowConsumer: 4008,
} as const;

/** One authenticated socket: who it is, how it renders, what it follows. */
export class Connection<S = unknown> {
  readonly id = randomUUID();
  /** Conversations whose events this socket receives. */
  readonly conversations = new Set<Id>();
  /** Events held back while a resume replay is loading, per conversation. */
  held: Map<Id, DomainEvent[]> | null = null;
  /** Sockets that follow all of a user's conversations of some kind (004: direct) join new ones when this says so. */
  followNew: ((conversation: ConversationRef) => boolean) | null = null;
  closed = false;

  constructor(
    readonly user: User,
    readonly socket: WebSocketLike,
    readonly renderer: EventRenderer<S>,
    /** The dialect's own per-socket state (e.g. the current room). */
    public state: S,
    readonly sendBufferLimit: number,
  ) {}

  /** Sends a frame unless the peer is too far behind; a slow consumer is closed with 4008. */
  send(frame: string): void {
    if (this.closed || this.socket.readyState !== OPEN) return;
    if (this.socket.bufferedAmount > this.sendBufferLimit) {
      this.close(CloseCodes.slowConsumer, 'slow consumer');
      return;
    }
    this.socket.send(frame);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close(code, reason);
    } catch {
      /* already gone */
    }
  }
}
