import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api';
import type { ImportJob } from '../api';
import { ImportStore, jobFraction } from './imports.svelte';

function job(patch: Partial<ImportJob> = {}, report: Partial<ImportJob['report']> = {}): ImportJob {
  return {
    id: '0190a000-0000-7000-8000-000000000001',
    kind: 'discord',
    filename: 'general.json',
    status: 'running',
    error: null,
    created_at: '2026-01-01T00:00:00Z',
    finished_at: null,
    ...patch,
    report: { total: 0, done: 0, imported: 0, unchanged: 0, updated: 0, skipped: 0, files: 0, problems: [], problems_dropped: 0, ...report },
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let calls: string[] = [];
/** What GET /api/imports/{id} answers, in turn. */
let answers: ImportJob[] = [];

beforeEach(() => {
  calls = [];
  answers = [];
  localStorage.clear();
  api._resetForTests({ access: 'a1', refresh: 'r1' });
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    calls.push(`${init.method ?? 'GET'} ${url}`);
    if (url === '/api/imports') return Promise.resolve(json(200, []));
    if (url.startsWith('/api/imports/')) return Promise.resolve(json(200, answers.shift() ?? job({ status: 'done' })));
    return Promise.resolve(json(404, { error: { code: 'not_found', message: 'no' } }));
  });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** An XMLHttpRequest that reports progress and answers `status` with `body`. */
function stubXhr(status: number, body: unknown, sent: FormData[]) {
  class FakeXhr {
    status = 0;
    responseText = '';
    upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = {
      onprogress: null,
    };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    url = '';
    open(_method: string, url: string) {
      this.url = url;
    }
    setRequestHeader() {}
    getResponseHeader() {
      return null;
    }
    send(form: FormData) {
      sent.push(form);
      this.upload.onprogress?.({ lengthComputable: true, loaded: 5, total: 10 });
      this.status = status;
      this.responseText = JSON.stringify(body);
      queueMicrotask(() => this.onload?.());
    }
  }
  vi.stubGlobal('XMLHttpRequest', FakeXhr);
}

describe('imports', () => {
  it('fraction follows the report, and is whole once the job ends', () => {
    expect(jobFraction(job({}, { total: 0, done: 0 }))).toBe(0);
    expect(jobFraction(job({}, { total: 8, done: 2 }))).toBe(0.25);
    expect(jobFraction(job({ status: 'failed' }))).toBe(1);
  });

  it('uploads the file, then polls the job until it is done', async () => {
    vi.useFakeTimers();
    const sent: FormData[] = [];
    stubXhr(202, job(), sent);
    const store = new ImportStore();
    await store.open();
    const seen: (number | null)[] = [];
    const started = store.start(new File(['{}'], 'general.json'));
    seen.push(store.uploading);
    expect(await started).not.toBeNull();
    expect(sent[0]?.get('file')).toBeInstanceOf(File);
    expect(store.uploading).toBeNull();
    expect(store.current?.status).toBe('running');
    expect(store.polling).toBe(true);

    answers = [job({}, { total: 4, done: 2 }), job({ status: 'done', finished_at: 'x' }, { total: 4, done: 4, imported: 3, skipped: 1,
      problems: [{ location: 'general.json: messages[3]', reason: 'malformed message', kind: 'skipped' }] })];
    await vi.advanceTimersByTimeAsync(store.pollMs);
    expect(store.current?.report.done).toBe(2);
    await vi.advanceTimersByTimeAsync(store.pollMs);
    expect(store.current?.status).toBe('done');
    expect(store.current?.report.problems[0]?.location).toBe('general.json: messages[3]');
    expect(store.polling).toBe(false);
    const polls = calls.filter((c) => c.startsWith('GET /api/imports/')).length;
    await vi.advanceTimersByTimeAsync(store.pollMs * 3);
    expect(calls.filter((c) => c.startsWith('GET /api/imports/')).length).toBe(polls);
    expect(seen[0]).toBe(0.5);
  });

  it('keeps a refusal for the panel to show, and closing stops polling', async () => {
    vi.useFakeTimers();
    stubXhr(413, { error: { code: 'file_too_large', message: 'files are limited to 10 bytes' } }, []);
    const store = new ImportStore();
    await store.open();
    expect(await store.start(new File(['x'.repeat(20)], 'big.zip'))).toBeNull();
    expect(store.error).toBe('files are limited to 10 bytes');
    expect(store.jobs).toHaveLength(0);

    stubXhr(202, job(), []);
    await store.start(new File(['{}'], 'a.json'));
    expect(store.polling).toBe(true);
    store.close();
    expect(store.polling).toBe(false);
  });
});
