// Read state: the last message read per channel, the newest known message, and mention counts.
// Ids are UUIDv7, so their text order is their creation order.

import type { DmChannel, Id, Message, ReadState, ReadyChannel } from '../api';

/**
 * Whether a message mentions `userId`: `<@id>` in its text, or the server's `mention_everyone`
 * flag (the author could mention everyone; `@everyone` in the text alone is not enough). The
 * server's rule: `service::mentions`.
 */
export function mentions(message: Pick<Message, 'content' | 'mention_everyone'>, userId: Id): boolean {
  return message.mention_everyone === true || message.content.includes(`<@${userId}>`);
}

/** Each channel's newest message as `Ready` names it (server channels and DMs alike). */
export function newestFromReady(servers: { channels: ReadyChannel[] }[], dmChannels: DmChannel[]): Record<Id, Id> {
  const newest: Record<Id, Id> = {};
  for (const server of servers) {
    for (const channel of server.channels) if (channel.last_message_id) newest[channel.id] = channel.last_message_id;
  }
  for (const dm of dmChannels) if (dm.last_message_id) newest[dm.id] = dm.last_message_id;
  return newest;
}

export class ReadStateStore {
  lastRead = $state<Record<Id, Id>>({});
  newest = $state<Record<Id, Id>>({});
  mentionCount = $state<Record<Id, number>>({});
  /** Per channel, the message ids known since Ready (its newest, then live ones), oldest first. */
  private known: Record<Id, Id[]> = {};
  /** Per channel, the unread messages heard live that counted as mentions. */
  private mentioning: Record<Id, Set<Id>> = {};

  reset(states: ReadState[], newest: Record<Id, Id> = {}, mentionCounts: Record<Id, number> = {}): void {
    const lastRead: Record<Id, Id> = {};
    for (const s of states) lastRead[s.channel_id] = s.last_read_message_id;
    this.lastRead = lastRead;
    this.newest = { ...newest };
    this.mentionCount = { ...mentionCounts };
    this.known = {};
    this.mentioning = {};
    for (const [channelId, id] of Object.entries(newest)) this.known[channelId] = [id];
  }

  unread(channelId: Id): boolean {
    const newest = this.newest[channelId];
    if (!newest) return false;
    const read = this.lastRead[channelId];
    return !read || newest > read;
  }

  mentionsIn(channelId: Id): number {
    return this.mentionCount[channelId] ?? 0;
  }

  /** Only moves the newest known message (e.g. learnt at start-up). */
  seen(channelId: Id, messageId: Id): void {
    this.learn(channelId, messageId);
  }

  /**
   * A new message: it may be unread, and may mention me (in a DM every message counts as one).
   * My own messages and those in the channel on screen count as read.
   */
  received(message: Message, me: Id | null, viewing: boolean, direct = false): void {
    this.learn(message.channel_id, message.id);
    if (message.author.id === me || viewing) {
      this.markRead(message.channel_id, message.id);
      return;
    }
    if (direct || (me && mentions(message, me))) {
      this.mentionCount[message.channel_id] = this.mentionsIn(message.channel_id) + 1;
      (this.mentioning[message.channel_id] ??= new Set()).add(message.id);
    }
  }

  private learn(channelId: Id, messageId: Id): void {
    const current = this.newest[channelId];
    if (current && messageId <= current) return;
    this.newest[channelId] = messageId;
    (this.known[channelId] ??= []).push(messageId);
  }

  /**
   * A message was deleted. When it was the newest, the newest becomes the one before it: the
   * previous id known since Ready, else `fallback` (the newest live message of the latest page
   * the client holds: `null` for none, `undefined` when it holds no such page and cannot tell).
   * So a deleted message leaves no unread marker, and a deleted mention no badge, behind.
   */
  deleted(channelId: Id, messageId: Id, fallback: Id | null | undefined): void {
    // A mention deleted before it was read no longer counts.
    if (this.mentioning[channelId]?.delete(messageId)) {
      const left = this.mentionsIn(channelId) - 1;
      if (left > 0) this.mentionCount[channelId] = left;
      else delete this.mentionCount[channelId];
    }
    const known = (this.known[channelId] ?? []).filter((id) => id !== messageId);
    this.known[channelId] = known;
    if (this.newest[channelId] !== messageId) return;
    const previous = known[known.length - 1] ?? fallback;
    if (previous === undefined) return;
    if (previous) this.newest[channelId] = previous;
    else delete this.newest[channelId];
  }

  /** Marks everything up to `messageId` read; returns whether that moved the marker. */
  markRead(channelId: Id, messageId: Id): boolean {
    delete this.mentionCount[channelId];
    delete this.mentioning[channelId];
    const read = this.lastRead[channelId];
    if (read && read >= messageId) return false;
    this.lastRead[channelId] = messageId;
    return true;
  }
}

export const readState = new ReadStateStore();
