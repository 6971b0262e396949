import type { Id, Message } from '../api';

/** A channel's pinned messages, newest pin first, as loaded and then kept current by events. */
export class PinsStore {
  byChannel = $state<Record<Id, Message[]>>({});

  of(channelId: Id): Message[] | undefined {
    return this.byChannel[channelId];
  }

  set(channelId: Id, list: Message[]): void {
    this.byChannel[channelId] = list;
  }

  /** A pin event: the message goes first (or moves there); channels not loaded stay unloaded. */
  pinned(message: Message): void {
    const list = this.byChannel[message.channel_id];
    if (!list) return;
    this.byChannel[message.channel_id] = [message, ...list.filter((m) => m.id !== message.id)];
  }

  /** An unpin or a delete. */
  unpinned(channelId: Id, messageId: Id): void {
    const list = this.byChannel[channelId];
    if (list) this.byChannel[channelId] = list.filter((m) => m.id !== messageId);
  }

  /** An edit of a pinned message. */
  updated(message: Message): void {
    const list = this.byChannel[message.channel_id];
    const i = list?.findIndex((m) => m.id === message.id) ?? -1;
    const old = list?.[i];
    if (list && old) list[i] = { ...message, pinned: true, pinned_at: old.pinned_at };
  }

  clear(): void {
    this.byChannel = {};
  }
}

export const pins = new PinsStore();
