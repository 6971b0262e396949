import { describe, expect, it } from 'vitest';
import type { Message } from '../api';
import { PinsStore } from './pins.svelte';

function msg(id: string, content = id): Message {
  return {
    id,
    channel_id: 'c',
    author: { id: 'u', username: 'u', display_name: 'U', avatar_url: null } as Message['author'],
    content,
    created_at: '2026-01-01T00:00:00Z',
    edited_at: null,
    attachments: [],
    reactions: [],
    reply_to: null,
    pinned: true,
    pinned_at: '2026-01-02T00:00:00Z',
  };
}

describe('PinsStore', () => {
  it('keeps the newest pin first and ignores channels it has not loaded', () => {
    const pins = new PinsStore();
    pins.pinned(msg('a'));
    expect(pins.of('c')).toBeUndefined();
    pins.set('c', [msg('a')]);
    pins.pinned(msg('b'));
    pins.pinned(msg('a'));
    expect(pins.of('c')!.map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('drops unpinned messages and follows edits', () => {
    const pins = new PinsStore();
    pins.set('c', [msg('a'), msg('b')]);
    pins.unpinned('c', 'a');
    pins.updated({ ...msg('b', 'edited'), pinned_at: undefined });
    expect(pins.of('c')!.map((m) => [m.id, m.content, m.pinned_at])).toEqual([['b', 'edited', '2026-01-02T00:00:00Z']]);
    pins.unpinned('elsewhere', 'b');
    expect(pins.of('c')!.length).toBe(1);
  });
});
