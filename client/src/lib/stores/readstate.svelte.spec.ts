import { describe, expect, it } from 'vitest';
import type { DmChannel, Message, ReadyChannel, ReadyServer } from '../api';
import { mentions, newestFromReady, ReadStateStore } from './readstate.svelte';

const me = '0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b';

function msg(id: string, author: string, content = 'hi', channel = 'c', mentionEveryone = false): Message {
  return {
    mention_everyone: mentionEveryone,
    id,
    channel_id: channel,
    author: { id: author, username: 'x', display_name: 'X', avatar_url: null, status: 'online', created_at: '' },
    content,
    created_at: '',
    edited_at: null,
    attachments: [],
    reactions: [],
    reply_to: null,
  };
}

describe('ReadStateStore', () => {
  it('starts from Ready and marks channels unread when a newer message arrives', () => {
    const s = new ReadStateStore();
    s.reset([{ channel_id: 'c', last_read_message_id: 'id-02' }], { d: 'id-05' });
    expect(s.unread('c')).toBe(false);
    expect(s.unread('d')).toBe(true);
    s.received(msg('id-03', 'other'), me, false);
    expect(s.unread('c')).toBe(true);
    expect(s.markRead('c', 'id-03')).toBe(true);
    expect(s.unread('c')).toBe(false);
    expect(s.markRead('c', 'id-01')).toBe(false);
  });

  it('counts mentions until read; my own and viewed messages are read', () => {
    const s = new ReadStateStore();
    s.reset([]);
    s.received(msg('id-01', 'other', `hey <@${me}>`), me, false);
    s.received(msg('id-02', 'other', '@everyone look', 'c', true), me, false);
    s.received(msg('id-03', 'other', 'no mention'), me, false);
    // The author could not mention everyone: the server left the flag off, so no badge.
    s.received(msg('id-035', 'other', '@here anyone?', 'c', false), me, false);
    expect(s.mentionsIn('c')).toBe(2);
    s.received(msg('id-04', me, 'mine'), me, false);
    expect(s.unread('c')).toBe(false);
    expect(s.mentionsIn('c')).toBe(0);
    s.received(msg('id-05', 'other', `<@${me}>`, 'v'), me, true);
    expect(s.unread('v')).toBe(false);
    expect(s.mentionsIn('v')).toBe(0);
  });

  it('counts every DM message from others and learns newest ids', () => {
    const s = new ReadStateStore();
    s.reset([{ channel_id: 'dm', last_read_message_id: 'id-01' }]);
    s.received(msg('id-02', 'other', 'hello', 'dm'), me, false, true);
    s.received(msg('id-03', 'other', 'again', 'dm'), me, false, true);
    expect(s.mentionsIn('dm')).toBe(2);
    s.seen('c', 'id-09');
    s.seen('c', 'id-05');
    expect(s.newest['c']).toBe('id-09');
    expect(s.unread('c')).toBe(true);
  });

  it('takes unread state from Ready alone, then keeps it current from new messages', () => {
    const channel = (id: string, last: string | null) => ({
      id,
      server_id: 's',
      name: id,
      kind: 'text' as const,
      topic: null,
      position: 0,
      parent_id: null,
      permission_overwrites: [],
      last_message_id: last,
    });
    const server: ReadyServer & { channels: ReadyChannel[] } = {
      id: 's',
      name: 'S',
      icon_url: null,
      owner_id: me,
      created_at: '',
      channels: [channel('read', 'id-04'), channel('unread', 'id-07'), channel('empty', null), channel('never', 'id-02')],
      roles: [],
    };
    const dm: DmChannel = { id: 'dm', kind: 'dm', recipients: [], last_message_id: 'id-06' };
    const newest = newestFromReady([server], [dm]);
    expect(newest).toEqual({ read: 'id-04', unread: 'id-07', never: 'id-02', dm: 'id-06' });

    const s = new ReadStateStore();
    s.reset(
      [
        { channel_id: 'read', last_read_message_id: 'id-04' },
        { channel_id: 'unread', last_read_message_id: 'id-05' },
        { channel_id: 'dm', last_read_message_id: 'id-06' },
      ],
      newest,
      { unread: 2 },
    );
    expect(['read', 'unread', 'empty', 'never', 'dm'].map((c) => s.unread(c))).toEqual([false, true, false, true, false]);
    expect([s.mentionsIn('unread'), s.mentionsIn('read')]).toEqual([2, 0]);
    s.received(msg('id-10', 'other', `again <@${me}>`, 'unread'), me, false);
    expect(s.mentionsIn('unread')).toBe(3);
    s.received(msg('id-08', 'other', 'new', 'read'), me, false);
    s.received(msg('id-09', 'other', 'new', 'empty'), me, false);
    expect([s.unread('read'), s.unread('empty')]).toEqual([true, true]);
  });

  it('forgets a deleted newest message, falling back to the one before', () => {
    const s = new ReadStateStore();
    s.reset([{ channel_id: 'c', last_read_message_id: 'id-02' }], { c: 'id-02', d: 'id-05' });
    // Live messages the client heard of: deleting the newest goes back to the previous one.
    s.received(msg('id-03', 'other', 'one'), me, false);
    s.received(msg('id-04', 'other', 'two'), me, false);
    s.deleted('c', 'id-04', undefined);
    expect([s.newest['c'], s.unread('c')]).toEqual(['id-03', true]);
    s.deleted('c', 'id-03', undefined);
    expect([s.newest['c'], s.unread('c')]).toEqual(['id-02', false]);
    // An older message going changes nothing.
    s.deleted('d', 'id-01', undefined);
    expect(s.newest['d']).toBe('id-05');
    // Ready's newest itself: the held page decides, or it stays when nothing tells.
    s.deleted('d', 'id-05', undefined);
    expect(s.unread('d')).toBe(true);
    s.deleted('d', 'id-05', null);
    expect(s.unread('d')).toBe(false);
  });

  it('un-counts a mention deleted before it was read', () => {
    const s = new ReadStateStore();
    s.reset([], {}, { c: 1 });
    s.received(msg('id-02', 'other', `hey <@${me}>`), me, false);
    s.received(msg('id-03', 'other', `again <@${me}>`), me, false);
    expect(s.mentionsIn('c')).toBe(3);
    s.deleted('c', 'id-03', undefined);
    s.deleted('c', 'id-03', undefined);
    expect(s.mentionsIn('c')).toBe(2);
    s.deleted('c', 'id-02', undefined);
    expect(s.mentionsIn('c')).toBe(1);
    s.markRead('c', 'id-01');
    s.deleted('c', 'id-01', undefined);
    expect(s.mentionsIn('c')).toBe(0);
  });

  it('recognises mentions: my id in the text, or the server-decided everyone flag', () => {
    expect(mentions({ content: `<@${me}>` }, me)).toBe(true);
    expect(mentions({ content: '<@someone-else>' }, me)).toBe(false);
    expect(mentions({ content: '@everyone look', mention_everyone: false }, me)).toBe(false);
    expect(mentions({ content: '@everyone look' }, me)).toBe(false);
    expect(mentions({ content: '@everyone look', mention_everyone: true }, me)).toBe(true);
  });
});
