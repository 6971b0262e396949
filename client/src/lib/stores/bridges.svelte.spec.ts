import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api';
import type { BridgeConnection } from '../api';
import { backfillComplete, BridgeStore, inProgress } from './bridges.svelte';

function conn(patch: Partial<BridgeConnection> = {}, backfill: Partial<BridgeConnection['backfill']> = {}): BridgeConnection {
  return {
    id: 'b1',
    owner_id: 'u1',
    token_kind: 'user',
    mode: 'archive',
    status: 'ready',
    guilds: [],
    ...patch,
    backfill: { channels_done: 0, channels_total: 0, messages: 0, ...backfill },
  };
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

let calls: { method: string; url: string; body: string | null }[] = [];
/** What GET /api/bridges/discord answers next. */
let listing: BridgeConnection[] = [];

function serve(handler?: (method: string, url: string, body: string | null) => Response | undefined) {
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    const method = init.method ?? 'GET';
    const body = (init.body as string) ?? null;
    calls.push({ method, url, body });
    const answer = handler?.(method, url, body);
    if (answer) return Promise.resolve(answer);
    if (method === 'GET' && url === '/api/bridges/discord') return Promise.resolve(json(200, listing));
    return Promise.resolve(json(404, { error: { code: 'not_found', message: 'no' } }));
  });
}

const gets = () => calls.filter((c) => c.method === 'GET' && c.url === '/api/bridges/discord').length;
/** Lets the pending fetch promises settle. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

beforeEach(() => {
  calls = [];
  listing = [];
  localStorage.clear();
  api._resetForTests({ access: 'a1', refresh: 'r1' });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('bridge api', () => {
  it('calls each management route with the typed body', async () => {
    serve((method, url) => {
      if (method === 'POST' && url === '/api/bridges/discord') return json(201, conn({ status: 'connecting' }));
      if (method === 'GET' && url === '/api/bridges/discord/b1') return json(200, conn());
      if (method === 'DELETE') return json(204, undefined);
      if (url.endsWith('/backfill')) return json(202, undefined);
      if (url.endsWith('/pause')) return json(200, conn({ status: 'paused' }));
      if (url.endsWith('/resume')) return json(200, conn({ status: 'connecting' }));
      return undefined;
    });
    const created = await api.createBridge({ token: 'secret', token_kind: 'bot', mode: 'relay' });
    expect(created.status).toBe('connecting');
    expect(JSON.parse(calls[0]!.body!)).toEqual({ token: 'secret', token_kind: 'bot', mode: 'relay' });
    expect((await api.bridge('b1')).backfill.channels_total).toBe(0);
    expect(await api.backfillBridge('b1')).toBeUndefined();
    await api.backfillBridge('b1', ['c1', 'c2']);
    expect((await api.pauseBridge('b1')).status).toBe('paused');
    expect((await api.resumeBridge('b1')).status).toBe('connecting');
    await api.deleteBridge('b1');
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST /api/bridges/discord',
      'GET /api/bridges/discord/b1',
      'POST /api/bridges/discord/b1/backfill',
      'POST /api/bridges/discord/b1/backfill',
      'POST /api/bridges/discord/b1/pause',
      'POST /api/bridges/discord/b1/resume',
      'DELETE /api/bridges/discord/b1',
    ]);
    expect(JSON.parse(calls[2]!.body!)).toEqual({});
    expect(JSON.parse(calls[3]!.body!)).toEqual({ channel_ids: ['c1', 'c2'] });
  });

  it('turns a refusal into an ApiError with the server message', async () => {
    serve(() => json(400, { error: { code: 'invalid_token', message: 'token must be 1 to 512 characters' } }));
    const error = await api.createBridge({ token: ' ', token_kind: 'user', mode: 'archive' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(api.ApiError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_token', message: 'token must be 1 to 512 characters' });
  });
});

describe('bridge progress', () => {
  it('is complete when every channel is done and none is being read', () => {
    expect(backfillComplete(conn({}, { channels_done: 3, channels_total: 3 }))).toBe(true);
    expect(backfillComplete(conn({}, { channels_done: 3, channels_total: 3, current_channel_id: 'c' }))).toBe(false);
    expect(backfillComplete(conn({}, { channels_done: 2, channels_total: 3 }))).toBe(false);
    expect(backfillComplete(conn({ status: 'connecting' }))).toBe(false);
    expect(backfillComplete(conn({ status: 'ready' }))).toBe(true);
  });

  it('is in progress while connecting, resuming or backfilling, not when paused or stopped', () => {
    expect(inProgress(conn({ status: 'connecting' }))).toBe(true);
    expect(inProgress(conn({ status: 'resuming' }))).toBe(true);
    expect(inProgress(conn({}, { channels_done: 1, channels_total: 3 }))).toBe(true);
    expect(inProgress(conn({}, { channels_done: 3, channels_total: 3 }))).toBe(false);
    expect(inProgress(conn({ status: 'paused' }, { channels_done: 1, channels_total: 3 }))).toBe(false);
    expect(inProgress(conn({ status: 'stopped', status_reason: 'invalid token' }))).toBe(false);
  });
});

describe('bridge store', () => {
  it('polls while the panel is open and something is in progress, and stops when closed', async () => {
    vi.useFakeTimers();
    serve();
    listing = [conn({ status: 'connecting' })];
    const store = new BridgeStore();
    await store.open();
    expect(store.connections).toHaveLength(1);
    expect(store.polling).toBe(true);
    expect(gets()).toBe(1);

    listing = [conn({}, { channels_done: 1, channels_total: 2, messages: 100, current_channel_id: 'c2' })];
    await vi.advanceTimersByTimeAsync(store.pollMs);
    expect(gets()).toBe(2);
    expect(store.connections[0]!.backfill.messages).toBe(100);
    expect(store.polling).toBe(true);

    store.close();
    expect(store.polling).toBe(false);
    await vi.advanceTimersByTimeAsync(store.pollMs * 5);
    expect(gets()).toBe(2);
  });

  it('stops polling once nothing is in progress, and starts again when something is', async () => {
    vi.useFakeTimers();
    serve((method, url) => (url.endsWith('/resume') ? json(200, conn({ status: 'connecting' })) : undefined));
    listing = [conn({ status: 'connecting' })];
    const store = new BridgeStore();
    await store.open();
    listing = [conn({ status: 'stopped', status_reason: 'invalid token: Discord refused it' })];
    await vi.advanceTimersByTimeAsync(store.pollMs);
    expect(store.connections[0]!.status).toBe('stopped');
    expect(store.polling).toBe(false);
    await vi.advanceTimersByTimeAsync(store.pollMs * 3);
    expect(gets()).toBe(2);

    await store.resume('b1');
    expect(store.connections[0]!.status).toBe('connecting');
    expect(store.polling).toBe(true);
    store.close();
  });

  it('does not poll when closed, even with something in progress', async () => {
    vi.useFakeTimers();
    serve((method, url) => (method === 'POST' && url === '/api/bridges/discord' ? json(201, conn({ status: 'connecting' })) : undefined));
    const store = new BridgeStore();
    await store.add({ token: 't', token_kind: 'user', mode: 'archive' });
    expect(store.connections).toHaveLength(1);
    expect(store.polling).toBe(false);
  });

  it('adds, pauses and removes, and keeps the token out of its state', async () => {
    serve((method, url) => {
      if (method === 'POST' && url === '/api/bridges/discord') return json(201, conn({ status: 'connecting' }));
      if (url.endsWith('/pause')) return json(200, conn({ status: 'paused' }));
      if (method === 'DELETE') return json(204, undefined);
      return undefined;
    });
    const store = new BridgeStore();
    await store.open();
    await store.add({ token: 'very-secret-token', token_kind: 'user', mode: 'archive' });
    expect(JSON.stringify(store.connections)).not.toContain('very-secret-token');
    await store.pause('b1');
    expect(store.connections[0]!.status).toBe('paused');
    expect(store.polling).toBe(false);
    await store.remove('b1');
    expect(store.connections).toEqual([]);
    store.close();
  });

  it('keeps a refresh error and throws action errors to the caller', async () => {
    serve((method, url) => {
      if (method === 'GET') return json(500, { error: { code: 'internal', message: 'database is down' } });
      if (url.endsWith('/backfill')) return json(409, { error: { code: 'bridge_not_running', message: 'the connection is not running' } });
      return undefined;
    });
    const store = new BridgeStore();
    await store.open();
    expect(store.error).toBe('database is down');
    expect(store.loaded).toBe(true);
    await expect(store.backfill('b1')).rejects.toMatchObject({ code: 'bridge_not_running' });
    store.close();
  });

  it('does not let a refresh that started before a change overwrite it', async () => {
    let release: (r: Response) => void = () => {};
    serve((method, url) => {
      if (method === 'GET') return undefined;
      if (url.endsWith('/pause')) return json(200, conn({ status: 'paused' }));
      return undefined;
    });
    listing = [conn({ status: 'connecting' })];
    const store = new BridgeStore();
    await store.open();
    vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
      if ((init.method ?? 'GET') === 'GET') return new Promise<Response>((r) => (release = r));
      return Promise.resolve(json(200, conn({ status: 'paused' })));
    });
    const refreshing = store.refresh();
    await store.pause('b1');
    release(json(200, [conn({ status: 'connecting' })]));
    await refreshing;
    await settle();
    expect(store.connections[0]!.status).toBe('paused');
    store.close();
  });
});
