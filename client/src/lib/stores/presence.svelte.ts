// Who is online, and who is typing where.

import type { Id, Status } from '../api';

/** How long a TypingStart shows (Discord: about 10 s). */
export const TYPING_MS = 8000;

export class PresenceStore {
  status = $state<Record<Id, Status>>({});
  /** channel → user → when the indicator ends (ms since epoch) */
  typing = $state<Record<Id, Record<Id, number>>>({});
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  of(userId: Id, fallback: Status = 'offline'): Status {
    return this.status[userId] ?? fallback;
  }

  set(userId: Id, status: Status): void {
    this.status[userId] = status === 'invisible' ? 'offline' : status;
  }

  /** Seeds statuses from user objects without overriding live updates. */
  seed(users: { id: Id; status: Status }[]): void {
    for (const u of users) if (!(u.id in this.status)) this.set(u.id, u.status);
  }

  typingIn(channelId: Id | null | undefined): Id[] {
    return channelId ? Object.keys(this.typing[channelId] ?? {}) : [];
  }

  startTyping(channelId: Id, userId: Id, now = Date.now()): void {
    const channel = (this.typing[channelId] ??= {});
    channel[userId] = now + TYPING_MS;
    const key = channelId + '/' + userId;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => this.stopTyping(channelId, userId), TYPING_MS),
    );
  }

  stopTyping(channelId: Id, userId: Id): void {
    const key = channelId + '/' + userId;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const channel = this.typing[channelId];
    if (channel && userId in channel) delete channel[userId];
  }

  reset(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.status = {};
    this.typing = {};
  }
}

export const presence = new PresenceStore();
