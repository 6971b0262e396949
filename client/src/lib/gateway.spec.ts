import { describe, expect, it } from 'vitest';
import { backoffDelay, Gateway, type EventFrame, type ReadyData } from './gateway';

/** A scriptable WebSocket: the test opens, answers and closes it. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

/** Manual timers. */
function clock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  return {
    setTimeout: (fn: () => void, ms: number) => {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (id: unknown) => void timers.delete(id as number),
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    pending: () => [...timers.values()].map((t) => t.at - now),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function ready(session = 's1'): { type: 'Ready'; data: ReadyData } {
  return {
    type: 'Ready',
    data: {
      user_id: 'u',
      username: 'ada',
      session_id: session,
      heartbeat_interval_ms: 10_000,
      user: { id: 'u', username: 'ada', display_name: 'Ada', avatar_url: null, status: 'online', created_at: '' },
      servers: [],
      dm_channels: [],
      read_state: [],
    },
  };
}

function event(seq: number): EventFrame {
  return { type: 'MessageDelete', data: { id: `m${seq}`, channel_id: 'c' }, seq };
}

function setup(token: string | null = 't1') {
  FakeSocket.all = [];
  const c = clock();
  const log = { readies: 0, events: [] as number[], resumed: 0, refreshes: 0 };
  let current = token;
  const gw = new Gateway({
    url: 'ws://test/ws',
    token: async () => current,
    refresh: async () => {
      log.refreshes++;
      current = 't2';
      return true;
    },
    handlers: {
      ready: () => log.readies++,
      event: (f) => log.events.push(f.seq),
      resumed: () => log.resumed++,
    },
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    random: () => 0.5,
    setTimeout: c.setTimeout,
    clearTimeout: c.clearTimeout,
  });
  return { gw, c, log };
}

describe('backoffDelay', () => {
  it('doubles, caps and jitters', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(20, () => 1)).toBe(30_000);
    expect(backoffDelay(20, () => 0)).toBe(15_000);
  });
});

describe('Gateway', () => {
  it('identifies, heartbeats with the last seq, and passes events once', async () => {
    const { gw, c, log } = setup();
    gw.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    expect(ws.sent[0]).toEqual({ type: 'Identify', token: 't1' });
    ws.receive(ready());
    expect(log.readies).toBe(1);
    ws.receive(event(1));
    ws.receive(event(2));
    ws.receive(event(2)); // a duplicate never reaches the stores
    expect(log.events).toEqual([1, 2]);
    c.advance(5000); // the first beat, at random() * interval
    expect(ws.sent[1]).toEqual({ type: 'Heartbeat', seq: 2 });
    ws.receive({ type: 'HeartbeatAck', data: null });
    c.advance(10_000);
    expect(ws.sent[2]).toEqual({ type: 'Heartbeat', seq: 2 });
  });

  it('resumes after a network drop and replays only what it missed', async () => {
    const { gw, c, log } = setup();
    gw.start();
    await tick();
    const first = FakeSocket.all[0]!;
    first.open();
    first.receive(ready('sess'));
    first.receive(event(1));
    first.receive(event(2));
    first.drop(1006);
    await tick();
    expect(gw.state).toBe('reconnecting');
    // Back-off with jitter before reconnecting.
    expect(c.pending().some((ms) => ms >= 250 && ms <= 500)).toBe(true);
    c.advance(500);
    await tick();
    const second = FakeSocket.all[1]!;
    second.open();
    expect(second.sent[0]).toEqual({ type: 'Resume', token: 't1', session_id: 'sess', seq: 2 });
    second.receive(event(2)); // overlap
    second.receive(event(3));
    second.receive(event(4));
    second.receive({ type: 'Resumed', data: null });
    expect(log.events).toEqual([1, 2, 3, 4]);
    expect(log.readies).toBe(1);
    expect(log.resumed).toBe(1);
    expect(gw.state).toBe('ready');
  });

  it('resumes after the server restarts (1012), through failed attempts while it is down', async () => {
    const { gw, c, log } = setup();
    gw.start();
    await tick();
    const first = FakeSocket.all[0]!;
    first.open();
    first.receive(ready('kept'));
    first.receive(event(1));
    first.drop(1012);
    await tick();
    expect(gw.state).toBe('reconnecting');
    // The server is still down: each attempt is refused, and the next waits longer.
    for (let attempt = 1; attempt <= 2; attempt++) {
      c.advance(30_000);
      await tick();
      FakeSocket.all[attempt]!.drop(1006);
      await tick();
    }
    c.advance(30_000);
    await tick();
    const back = FakeSocket.all[3]!;
    back.open();
    expect(back.sent[0]).toEqual({ type: 'Resume', token: 't1', session_id: 'kept', seq: 1 });
    back.receive(event(2));
    back.receive({ type: 'Resumed', data: null });
    expect(log.events).toEqual([1, 2]);
    expect(log.readies).toBe(1);
    expect(gw.state).toBe('ready');
  });

  it('closes a connection whose heartbeat goes unanswered and resumes on a new one', async () => {
    const { gw, c } = setup();
    gw.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(ready('s9'));
    ws.receive(event(7));
    c.advance(5000); // beat
    c.advance(10_000); // no ack: dead
    expect(ws.closedWith).toBe(4000);
    c.advance(1000);
    await tick();
    const next = FakeSocket.all[1]!;
    next.open();
    expect(next.sent[0]).toEqual({ type: 'Resume', token: 't1', session_id: 's9', seq: 7 });
  });

  it('identifies afresh after InvalidSession', async () => {
    const { gw, c, log } = setup();
    gw.start();
    await tick();
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.receive(ready('old'));
    FakeSocket.all[0]!.drop(1006);
    c.advance(1000);
    await tick();
    const ws = FakeSocket.all[1]!;
    ws.open();
    ws.receive({ type: 'InvalidSession', data: { resumable: false } });
    await tick();
    expect(ws.sent[1]).toEqual({ type: 'Identify', token: 't1' });
    ws.receive(ready('new'));
    expect(log.readies).toBe(2);
    expect(gw.session).toBe('new');
  });

  it('refreshes the token when it is refused (4004)', async () => {
    const { gw, c, log } = setup();
    gw.start();
    await tick();
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.drop(4004);
    await tick();
    expect(log.refreshes).toBe(1);
    c.advance(1000);
    await tick();
    FakeSocket.all[1]!.open();
    expect(FakeSocket.all[1]!.sent[0]).toEqual({ type: 'Identify', token: 't2' });
  });

  it('stops for good with close 1000 and queues frames while away', async () => {
    const { gw, c } = setup();
    gw.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    gw.send({ type: 'UpdatePresence', status: 'idle' }); // before Ready: queued
    ws.receive(ready());
    expect(ws.sent[1]).toEqual({ type: 'UpdatePresence', status: 'idle' });
    gw.stop();
    expect(ws.closedWith).toBe(1000);
    c.advance(60_000);
    await tick();
    expect(FakeSocket.all).toHaveLength(1);
  });
});
