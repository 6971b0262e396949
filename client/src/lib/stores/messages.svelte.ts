// Messages per channel, oldest first, as a window of the channel's history: `hasOlder` when there
// is more above, `hasNewer` when the window was opened around an older message (a search jump).

import type { Id, Message } from '../api';

export interface ChannelMessages {
  items: Message[];
  hasOlder: boolean;
  hasNewer: boolean;
  loading: boolean;
}

function empty(): ChannelMessages {
  return { items: [], hasOlder: true, hasNewer: false, loading: false };
}

/** Sorted insert by id (ids are UUIDv7: text order is time order); replaces an equal id. */
function insert(items: Message[], message: Message): void {
  let i = items.length;
  while (i > 0 && items[i - 1]!.id > message.id) i--;
  if (i > 0 && items[i - 1]!.id === message.id) items[i - 1] = message;
  else items.splice(i, 0, message);
}

export class MessagesStore {
  byChannel = $state<Record<Id, ChannelMessages>>({});

  of(channelId: Id | null | undefined): ChannelMessages | undefined {
    return channelId ? this.byChannel[channelId] : undefined;
  }

  loaded(channelId: Id): boolean {
    return channelId in this.byChannel;
  }

  private ensure(channelId: Id): ChannelMessages {
    return (this.byChannel[channelId] ??= empty());
  }

  setLoading(channelId: Id, loading: boolean): void {
    this.ensure(channelId).loading = loading;
  }

  /** The newest page of a channel (the API answers newest first). */
  setLatest(channelId: Id, newestFirst: Message[], limit: number): void {
    this.byChannel[channelId] = {
      items: [...newestFirst].reverse(),
      hasOlder: newestFirst.length >= limit,
      hasNewer: false,
      loading: false,
    };
  }

  /** A window around one message: `older` and `newer` as the API answered them (newest first). */
  setAround(channelId: Id, older: Message[], target: Message, newer: Message[], limit: number): void {
    this.byChannel[channelId] = {
      items: [...older].reverse().concat([target], [...newer].reverse()),
      hasOlder: older.length >= limit,
      hasNewer: newer.length >= limit,
      loading: false,
    };
  }

  /** An older page, put above what is shown. */
  prependOlder(channelId: Id, newestFirst: Message[], limit: number): void {
    const channel = this.ensure(channelId);
    for (const m of newestFirst) insert(channel.items, m);
    channel.hasOlder = newestFirst.length >= limit;
    channel.loading = false;
  }

  /** A newer page, put below (closing the gap left by a jump). */
  appendNewer(channelId: Id, newestFirst: Message[], limit: number): void {
    const channel = this.ensure(channelId);
    for (const m of newestFirst) insert(channel.items, m);
    channel.hasNewer = newestFirst.length >= limit;
    channel.loading = false;
  }

  /** A new message (live or our own answer). Ignored for unloaded channels and detached windows. */
  add(message: Message): void {
    const channel = this.byChannel[message.channel_id];
    if (!channel || channel.hasNewer) return;
    insert(channel.items, message);
  }

  update(message: Message): void {
    const channel = this.byChannel[message.channel_id];
    if (!channel) return;
    const i = channel.items.findIndex((m) => m.id === message.id);
    if (i >= 0) channel.items[i] = message;
  }

  remove(channelId: Id, id: Id): void {
    const channel = this.byChannel[channelId];
    if (channel) channel.items = channel.items.filter((m) => m.id !== id);
  }

  /** Keeps a deleted message as a marker (for its author and moderators, who may read its history). */
  markDeleted(channelId: Id, id: Id): void {
    const message = this.find(channelId, id);
    if (message) {
      message.deleted = true;
      message.content = '';
      message.attachments = [];
      message.reactions = [];
    }
  }

  find(channelId: Id, id: Id): Message | undefined {
    return this.byChannel[channelId]?.items.find((m) => m.id === id);
  }

  reaction(channelId: Id, messageId: Id, emoji: string, added: boolean, byMe: boolean): void {
    const message = this.find(channelId, messageId);
    if (!message) return;
    const i = message.reactions.findIndex((r) => r.emoji === emoji);
    if (added) {
      if (i >= 0) {
        const r = message.reactions[i]!;
        if (byMe && r.me) return; // already counted (idempotent PUT)
        r.count += 1;
        if (byMe) r.me = true;
      } else {
        message.reactions.push({ emoji, count: 1, me: byMe });
      }
    } else if (i >= 0) {
      const r = message.reactions[i]!;
      if (byMe && !r.me) return;
      r.count -= 1;
      if (byMe) r.me = false;
      if (r.count <= 0) message.reactions.splice(i, 1);
    }
  }

  /** The newest message of `authorId` in a channel (for Up-to-edit). */
  lastBy(channelId: Id, authorId: Id): Message | undefined {
    const items = this.byChannel[channelId]?.items ?? [];
    for (let i = items.length - 1; i >= 0; i--) if (items[i]!.author.id === authorId && !items[i]!.deleted) return items[i];
    return undefined;
  }

  /** A profile changed: show the new name and avatar on the messages on screen. */
  updateAuthor(user: Message['author']): void {
    for (const channel of Object.values(this.byChannel)) {
      for (const m of channel.items) if (m.author.id === user.id) m.author = user;
    }
  }

  forget(channelId: Id): void {
    delete this.byChannel[channelId];
  }

  reset(): void {
    this.byChannel = {};
  }
}

export const messages = new MessagesStore();
