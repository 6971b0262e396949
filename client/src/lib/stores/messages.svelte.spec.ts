import { describe, expect, it } from 'vitest';
import type { Message } from '../api';
import { MessagesStore } from './messages.svelte';

let n = 0;
/** Ids in creation order, like UUIDv7. */
function id(): string {
  n += 1;
  return `0190a5b2-0000-7000-8000-${n.toString().padStart(12, '0')}`;
}

function msg(channel: string, over: Partial<Message> = {}): Message {
  return {
    id: id(),
    channel_id: channel,
    author: { id: 'u1', username: 'ada', display_name: 'Ada', avatar_url: null, status: 'online', created_at: '' },
    content: 'hi',
    created_at: new Date().toISOString(),
    edited_at: null,
    attachments: [],
    reactions: [],
    reply_to: null,
    ...over,
  };
}

describe('MessagesStore', () => {
  it('keeps a channel oldest first across pages, without duplicates', () => {
    const s = new MessagesStore();
    const all = Array.from({ length: 5 }, () => msg('c'));
    // The API answers newest first.
    s.setLatest('c', [all[4]!, all[3]!, all[2]!], 3);
    expect(s.of('c')!.items.map((m) => m.id)).toEqual([all[2]!.id, all[3]!.id, all[4]!.id]);
    expect(s.of('c')!.hasOlder).toBe(true);
    s.prependOlder('c', [all[2]!, all[1]!, all[0]!].slice(1), 3);
    expect(s.of('c')!.items.map((m) => m.id)).toEqual(all.map((m) => m.id));
    expect(s.of('c')!.hasOlder).toBe(false);
  });

  it('adds live messages once, in id order, and ignores unloaded channels', () => {
    const s = new MessagesStore();
    s.setLatest('c', [], 50);
    const a = msg('c');
    const b = msg('c');
    s.add(b);
    s.add(a);
    s.add(b); // the REST answer and the event for the same message
    expect(s.of('c')!.items.map((m) => m.id)).toEqual([a.id, b.id]);
    s.add(msg('elsewhere'));
    expect(s.of('elsewhere')).toBeUndefined();
  });

  it('does not append live messages to a window opened around an old message', () => {
    const s = new MessagesStore();
    const [o, t, nw] = [msg('c'), msg('c'), msg('c')];
    s.setAround('c', [o!], t!, [nw!], 1);
    expect(s.of('c')!.hasNewer).toBe(true);
    s.add(msg('c'));
    expect(s.of('c')!.items).toHaveLength(3);
    s.appendNewer('c', [], 1);
    expect(s.of('c')!.hasNewer).toBe(false);
    s.add(msg('c'));
    expect(s.of('c')!.items).toHaveLength(4);
  });

  it('applies edits, deletes and reactions', () => {
    const s = new MessagesStore();
    const m = msg('c');
    s.setLatest('c', [m], 50);
    s.update({ ...m, content: 'edited', edited_at: 'now' });
    expect(s.find('c', m.id)!.content).toBe('edited');
    s.reaction('c', m.id, '👍', true, false);
    s.reaction('c', m.id, '👍', true, true);
    s.reaction('c', m.id, '👍', true, true); // idempotent for me
    expect(s.find('c', m.id)!.reactions).toEqual([{ emoji: '👍', count: 2, me: true }]);
    s.reaction('c', m.id, '👍', false, true);
    expect(s.find('c', m.id)!.reactions).toEqual([{ emoji: '👍', count: 1, me: false }]);
    s.reaction('c', m.id, '👍', false, false);
    expect(s.find('c', m.id)!.reactions).toEqual([]);
    s.remove('c', m.id);
    expect(s.of('c')!.items).toEqual([]);
  });

  it('keeps a deleted message as an empty marker', () => {
    const s = new MessagesStore();
    const m = msg('c', { reactions: [{ emoji: '👍', count: 1, me: false }] });
    s.setLatest('c', [m], 50);
    s.markDeleted('c', m.id);
    expect(s.find('c', m.id)).toMatchObject({ deleted: true, content: '', reactions: [], attachments: [] });
    expect(s.lastBy('c', 'u1')).toBeUndefined();
  });

  it('shows a changed profile on the messages on screen', () => {
    const s = new MessagesStore();
    const m = msg('c');
    s.setLatest('c', [m], 50);
    s.updateAuthor({ ...m.author, display_name: 'Ada L.' });
    expect(s.find('c', m.id)!.author.display_name).toBe('Ada L.');
  });

  it('finds my last message for Up-to-edit', () => {
    const s = new MessagesStore();
    const mine = msg('c');
    const theirs = msg('c', { author: { ...mine.author, id: 'u2' } });
    s.setLatest('c', [theirs, mine], 50);
    expect(s.lastBy('c', 'u1')!.id).toBe(mine.id);
    expect(s.lastBy('c', 'u3')).toBeUndefined();
  });
});
