import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from './api';

type Handler = (url: string, init: RequestInit) => Response;

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

let calls: { url: string; auth: string | null; body: string | null }[] = [];

function serve(handler: Handler) {
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ url, auth: headers['Authorization'] ?? null, body: (init.body as string) ?? null });
    return Promise.resolve(handler(url, init));
  });
}

beforeEach(() => {
  calls = [];
  localStorage.clear();
  api._resetForTests({ access: 'a1', refresh: 'r1' });
});
afterEach(() => vi.unstubAllGlobals());

describe('api', () => {
  it('sends the bearer token and parses JSON', async () => {
    serve(() => json(200, { id: 'u', username: 'ada' }));
    expect((await api.me()).username).toBe('ada');
    expect(calls[0]).toMatchObject({ url: '/api/users/me', auth: 'Bearer a1' });
  });

  it('turns the error shape into one ApiError', async () => {
    serve(() => json(404, { error: { code: 'unknown_channel', message: 'no such channel' } }));
    const error = await api.channel('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(api.ApiError);
    expect(error).toMatchObject({ status: 404, code: 'unknown_channel', message: 'no such channel' });
  });

  it('refreshes once on a 401 and retries with the new token', async () => {
    serve((url, init) => {
      if (url === '/api/auth/refresh') return json(200, { access_token: 'a2', refresh_token: 'r2', expires_in: 900 });
      const auth = (init.headers as Record<string, string>)['Authorization'];
      return auth === 'Bearer a2' ? json(200, []) : json(401, { error: { code: 'unauthenticated', message: 'expired' } });
    });
    // Two calls at once share one refresh.
    await Promise.all([api.servers(), api.dmChannels()]);
    expect(calls.filter((c) => c.url === '/api/auth/refresh')).toHaveLength(1);
    expect(JSON.parse(calls.find((c) => c.url === '/api/auth/refresh')!.body!)).toEqual({ refresh_token: 'r1' });
    expect(api.accessToken()).toBe('a2');
    expect(JSON.parse(localStorage.getItem('rift.tokens')!)).toEqual({ access: 'a2', refresh: 'r2' });
  });

  it('asks to sign in again when the refresh is refused', async () => {
    const signedOut = vi.fn();
    api.onSignedOut(signedOut);
    serve((url) =>
      url === '/api/auth/refresh'
        ? json(401, { error: { code: 'invalid_refresh_token', message: 'no' } })
        : json(401, { error: { code: 'unauthenticated', message: 'expired' } }),
    );
    await expect(api.servers()).rejects.toMatchObject({ status: 401 });
    expect(signedOut).toHaveBeenCalledTimes(1);
    expect(api.hasSession()).toBe(false);
    expect(localStorage.getItem('rift.tokens')).toBeNull();
    // Only one refresh attempt, no loop.
    expect(calls.filter((c) => c.url === '/api/auth/refresh')).toHaveLength(1);
  });

  it('signs out when the retried call is still 401', async () => {
    const signedOut = vi.fn();
    api.onSignedOut(signedOut);
    serve((url) =>
      url === '/api/auth/refresh'
        ? json(200, { access_token: 'a2', refresh_token: 'r2', expires_in: 900 })
        : json(401, { error: { code: 'unauthenticated', message: 'nope' } }),
    );
    await expect(api.servers()).rejects.toMatchObject({ status: 401 });
    expect(signedOut).toHaveBeenCalledTimes(1);
    expect(calls.filter((c) => c.url === '/api/auth/refresh')).toHaveLength(1);
  });

  it('keeps the tokens of a login and builds query strings', async () => {
    api._resetForTests(null);
    serve((url) =>
      url === '/api/auth/login'
        ? json(200, { access_token: 'A', refresh_token: 'R', expires_in: 900, user: { id: 'u' } })
        : json(200, []),
    );
    await api.login({ username: 'ada', password: 'pw' });
    expect(calls[0]!.auth).toBeNull();
    await api.search({ q: 'hello world', has: 'attachment', server_id: undefined, limit: 10 });
    expect(calls[1]).toMatchObject({ url: '/api/search?q=hello+world&has=attachment&limit=10', auth: 'Bearer A' });
    await api.react('m1', '👍');
    expect(calls[2]!.url).toBe('/api/messages/m1/reactions/%F0%9F%91%8D');
  });
});
