// Members of servers, loaded when a server is opened and kept by events.

import type { Id, Member, User } from '../api';

export class MembersStore {
  byServer = $state<Record<Id, Member[]>>({});

  of(serverId: Id | null | undefined): Member[] {
    return serverId ? (this.byServer[serverId] ?? []) : [];
  }

  member(serverId: Id | null | undefined, userId: Id | null | undefined): Member | undefined {
    return userId ? this.of(serverId).find((m) => m.user.id === userId) : undefined;
  }

  loaded(serverId: Id): boolean {
    return serverId in this.byServer;
  }

  set(serverId: Id, members: Member[]): void {
    this.byServer[serverId] = members;
  }

  upsert(member: Member): void {
    const list = this.byServer[member.server_id];
    if (!list) return;
    const i = list.findIndex((m) => m.user.id === member.user.id);
    if (i >= 0) list[i] = member;
    else list.push(member);
  }

  remove(serverId: Id, userId: Id): void {
    const list = this.byServer[serverId];
    if (list) this.byServer[serverId] = list.filter((m) => m.user.id !== userId);
  }

  forget(serverId: Id): void {
    delete this.byServer[serverId];
  }

  /** A profile changed: update it wherever it appears. */
  updateUser(user: User): void {
    for (const list of Object.values(this.byServer)) {
      for (const m of list) if (m.user.id === user.id) m.user = user;
    }
  }

  /** Any known user by id (for names in mentions and the audit log). */
  user(userId: Id): User | undefined {
    for (const list of Object.values(this.byServer)) {
      const m = list.find((m) => m.user.id === userId);
      if (m) return m.user;
    }
    return undefined;
  }

  reset(): void {
    this.byServer = {};
  }
}

export const members = new MembersStore();
