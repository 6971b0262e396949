// The one WebSocket to Rift's gateway (`/ws`, SPEC §5, §11): Identify or Resume, heartbeats with
// the last seen `seq`, reconnect with exponential back-off and jitter, and Resume after a drop so
// that every event missed meanwhile is replayed (events already seen are dropped by `seq`).

import type {
  Channel,
  DmChannel,
  Id,
  Member,
  Message,
  ReadState,
  ReadyChannel,
  ReadyServer,
  Role,
  Server,
  Status,
  User,
} from './api';

export interface ReadyData {
  user_id: Id;
  username: string;
  session_id: string;
  heartbeat_interval_ms: number;
  user: User;
  servers: (ReadyServer & { channels: ReadyChannel[] })[];
  dm_channels: DmChannel[];
  read_state: ReadState[];
  /** Unread messages that mention the user, per channel (absent: none). */
  mention_counts?: Record<Id, number>;
}

/** Events: frames that carry a `seq` and are replayed on Resume. */
export type EventFrame =
  | { type: 'MessageCreate'; data: Message; seq: number }
  | { type: 'MessageUpdate'; data: Message; seq: number }
  | { type: 'MessageDelete'; data: { id: Id; channel_id: Id; content?: string }; seq: number }
  | { type: 'MessagePin'; data: Message; seq: number }
  | { type: 'MessageUnpin'; data: { message_id: Id; channel_id: Id }; seq: number }
  | { type: 'ReactionAdd'; data: { message_id: Id; channel_id: Id; user_id: Id; emoji: string }; seq: number }
  | { type: 'ReactionRemove'; data: { message_id: Id; channel_id: Id; user_id: Id; emoji: string }; seq: number }
  | { type: 'TypingStart'; data: { channel_id: Id; user_id: Id; timestamp: string }; seq: number }
  | { type: 'PresenceUpdate'; data: { user_id: Id; status: Status }; seq: number }
  | { type: 'UserUpdate'; data: User; seq: number }
  | { type: 'ChannelCreate'; data: Channel; seq: number }
  | { type: 'ChannelUpdate'; data: Channel; seq: number }
  | { type: 'ChannelDelete'; data: { id: Id; server_id: Id }; seq: number }
  | { type: 'DmChannelCreate'; data: DmChannel; seq: number }
  | { type: 'ServerUpdate'; data: Server; seq: number }
  | { type: 'ServerDelete'; data: { id: Id }; seq: number }
  | { type: 'MemberAdd'; data: Member; seq: number }
  | { type: 'MemberUpdate'; data: Member; seq: number }
  | { type: 'MemberRemove'; data: { server_id: Id; user_id: Id }; seq: number }
  | { type: 'RoleCreate'; data: Role; seq: number }
  | { type: 'RoleUpdate'; data: Role; seq: number }
  | { type: 'RoleDelete'; data: { server_id: Id; role_id: Id }; seq: number }
  | { type: 'ReadStateUpdate'; data: ReadState; seq: number };

/** Every frame the server sends. */
export type ServerFrame =
  | { type: 'Ready'; data: ReadyData }
  | { type: 'Resumed'; data: null }
  | { type: 'InvalidSession'; data: { resumable: boolean } }
  | { type: 'HeartbeatAck'; data: null }
  | { type: 'Error'; data: { code: string; message: string; nonce?: string } }
  | EventFrame;

/** Every frame the client sends. */
export type ClientFrame =
  | { type: 'Identify'; token: string }
  | { type: 'Resume'; token: string; session_id: string; seq: number }
  | { type: 'Heartbeat'; seq: number | null }
  | { type: 'SendMessage'; channel_id: Id; content: string; attachment_ids?: Id[]; reply_to?: Id | null; nonce?: string }
  | { type: 'StartTyping'; channel_id: Id }
  | { type: 'UpdatePresence'; status: Status }
  | { type: 'SubscribeChannel'; channel_id: Id }
  | { type: 'SubscribeServer'; server_id: Id };

export type GatewayState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface GatewayHandlers {
  /** A fresh session: replace all state with this. */
  ready(data: ReadyData): void;
  /** One event, in order, each `seq` once. */
  event(frame: EventFrame): void;
  /** A resumed session caught up. */
  resumed?(): void;
  error?(data: { code: string; message: string; nonce?: string }): void;
  state?(state: GatewayState): void;
}

export interface GatewayOptions {
  url: string;
  /** The current access token (may refresh it first); null when signed out. */
  token(): Promise<string | null>;
  /** Called when the server refused the token (4004): refresh, and say whether to try again. */
  refresh(): Promise<boolean>;
  handlers: GatewayHandlers;
  /** For tests. */
  WebSocket?: typeof WebSocket;
  random?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  /** Longest back-off in ms. */
  maxDelayMs?: number;
}

/** Closes after which a resume is pointless: the session is gone or we were refused. Any other
 * close resumes, notably 1012 (the server is restarting: it saves the session for the restart). */
const FRESH_AFTER = new Set([4001, 4002, 4003, 4005]);

/** The back-off before attempt `n` (0-based): 0.5 s doubling up to `max`, then ±50 % jitter. */
export function backoffDelay(attempt: number, random: () => number = Math.random, max = 30_000): number {
  const base = Math.min(max, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + random() * (base / 2));
}

export class Gateway {
  private ws: WebSocket | null = null;
  private sessionId: string | null = null;
  private seq: number | null = null;
  private attempt = 0;
  private heartbeat: unknown = null;
  private reconnectTimer: unknown = null;
  private awaitingAck = false;
  private interval = 30_000;
  private stopped = true;
  private queue: ClientFrame[] = [];
  private readonly opts: Required<Pick<GatewayOptions, 'random' | 'maxDelayMs'>> & GatewayOptions;
  state: GatewayState = 'idle';

  constructor(options: GatewayOptions) {
    this.opts = { random: Math.random, maxDelayMs: 30_000, ...options };
  }

  private setTimer(fn: () => void, ms: number): unknown {
    return (this.opts.setTimeout ?? ((f, t) => globalThis.setTimeout(f, t)))(fn, ms);
  }

  private clearTimer(handle: unknown): void {
    if (handle === null) return;
    (this.opts.clearTimeout ?? ((h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>)))(handle);
  }

  private setState(state: GatewayState): void {
    this.state = state;
    this.opts.handlers.state?.(state);
  }

  /** The last event seen, for tests and for the Resume. */
  get lastSeq(): number | null {
    return this.seq;
  }

  get session(): string | null {
    return this.sessionId;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.open();
  }

  /** Ends the session (close 1000: not resumable). */
  stop(): void {
    this.stopped = true;
    this.clearTimer(this.reconnectTimer);
    this.clearTimer(this.heartbeat);
    this.reconnectTimer = this.heartbeat = null;
    const ws = this.ws;
    this.ws = null;
    this.sessionId = null;
    this.seq = null;
    if (ws && ws.readyState <= 1) ws.close(1000);
    this.setState('closed');
  }

  /** Sends a frame now, or when the session is next ready. */
  send(frame: ClientFrame): void {
    if (this.ws && this.state === 'ready' && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
    else if (frame.type !== 'StartTyping') this.queue.push(frame);
  }

  /** Drops the connection as if the network had (for a quick reconnect, e.g. on `online`). */
  reconnectNow(): void {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.ws) this.drop(4000);
    else {
      this.clearTimer(this.reconnectTimer);
      this.reconnectTimer = null;
      void this.open();
    }
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    const token = await this.opts.token();
    if (this.stopped) return;
    if (!token) {
      this.stop();
      return;
    }
    this.setState(this.attempt === 0 && !this.sessionId ? 'connecting' : 'reconnecting');
    const Impl = this.opts.WebSocket ?? globalThis.WebSocket;
    let ws: WebSocket;
    try {
      ws = new Impl(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      if (this.sessionId && this.seq !== null) {
        this.raw(ws, { type: 'Resume', token, session_id: this.sessionId, seq: this.seq });
      } else if (this.sessionId) {
        this.raw(ws, { type: 'Resume', token, session_id: this.sessionId, seq: 0 });
      } else {
        this.raw(ws, { type: 'Identify', token });
      }
    };
    ws.onmessage = (event: MessageEvent) => {
      if (this.ws !== ws || typeof event.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      this.receive(frame);
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimer(this.heartbeat);
      this.heartbeat = null;
      if (this.stopped) return;
      void this.closed(event.code);
    };
    ws.onerror = () => {
      // onclose follows.
    };
  }

  private async closed(code: number): Promise<void> {
    if (code === 4004) {
      // The token was refused: refresh it; when that fails, the session is over.
      this.sessionId = null;
      this.seq = null;
      if (!(await this.opts.refresh())) {
        this.stop();
        return;
      }
    } else if (FRESH_AFTER.has(code)) {
      this.sessionId = null;
      this.seq = null;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const delay = backoffDelay(this.attempt, this.opts.random, this.opts.maxDelayMs);
    this.attempt += 1;
    this.clearTimer(this.reconnectTimer);
    this.reconnectTimer = this.setTimer(() => {
      this.reconnectTimer = null;
      void this.open();
    }, delay);
  }

  private raw(ws: WebSocket, frame: ClientFrame): void {
    if (ws.readyState === 1) ws.send(JSON.stringify(frame));
  }

  private drop(code: number): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.clearTimer(this.heartbeat);
    this.heartbeat = null;
    try {
      ws.close(code);
    } catch {
      // already closing
    }
    this.scheduleReconnect();
  }

  private startHeartbeat(intervalMs: number): void {
    this.clearTimer(this.heartbeat);
    this.awaitingAck = false;
    const beat = () => {
      const ws = this.ws;
      if (!ws) return;
      if (this.awaitingAck) {
        // No ack since the last beat: the connection is dead; resume on a new one.
        this.drop(4000);
        return;
      }
      this.awaitingAck = true;
      this.raw(ws, { type: 'Heartbeat', seq: this.seq });
      this.heartbeat = this.setTimer(beat, intervalMs);
    };
    // The first beat comes early and at a random point, like Discord's jitter.
    this.heartbeat = this.setTimer(beat, Math.max(1000, Math.floor(intervalMs * this.opts.random())));
  }

  private flushQueue(): void {
    const ws = this.ws;
    if (!ws) return;
    const queued = this.queue;
    this.queue = [];
    for (const frame of queued) this.raw(ws, frame);
  }

  private receive(frame: ServerFrame): void {
    const handlers = this.opts.handlers;
    switch (frame.type) {
      case 'Ready':
        this.sessionId = frame.data.session_id;
        this.seq = null;
        this.attempt = 0;
        this.setState('ready');
        this.interval = frame.data.heartbeat_interval_ms;
        this.startHeartbeat(this.interval);
        handlers.ready(frame.data);
        this.flushQueue();
        return;
      case 'Resumed':
        this.attempt = 0;
        this.setState('ready');
        this.startHeartbeat(this.interval);
        handlers.resumed?.();
        this.flushQueue();
        return;
      case 'InvalidSession':
        // Too late to resume: identify afresh (the Ready that follows replaces all state).
        this.sessionId = null;
        this.seq = null;
        if (this.ws) {
          const ws = this.ws;
          void this.opts.token().then((token) => {
            if (token && this.ws === ws) this.raw(ws, { type: 'Identify', token });
          });
        }
        return;
      case 'HeartbeatAck':
        this.awaitingAck = false;
        return;
      case 'Error':
        handlers.error?.(frame.data);
        return;
      default:
        if (typeof frame.seq === 'number') {
          if (this.seq !== null && frame.seq <= this.seq) return; // seen already (a replay overlap)
          this.seq = frame.seq;
        }
        handlers.event(frame);
    }
  }
}
