// Servers the user is in, with their channels and roles (seeded by Ready, kept by events).

import type { Channel, Id, ReadyServer, Role, Server } from '../api';

export interface ChannelGroup {
  category: Channel | null;
  channels: Channel[];
}

const byPosition = (a: { position: number; id: string }, b: { position: number; id: string }) =>
  a.position - b.position || (a.id < b.id ? -1 : 1);

/** Channels grouped under their categories, in order; uncategorised first. */
export function groupChannels(channels: Channel[]): ChannelGroup[] {
  const sorted = [...channels].sort(byPosition);
  const categories = sorted.filter((c) => c.kind === 'category');
  const groups: ChannelGroup[] = [
    { category: null, channels: sorted.filter((c) => c.kind !== 'category' && !categories.some((k) => k.id === c.parent_id)) },
  ];
  for (const category of categories) {
    groups.push({ category, channels: sorted.filter((c) => c.kind !== 'category' && c.parent_id === category.id) });
  }
  return groups;
}

export class ServersStore {
  list = $state<ReadyServer[]>([]);

  reset(servers: ReadyServer[]): void {
    this.list = servers;
  }

  get(id: Id | null | undefined): ReadyServer | undefined {
    return id ? this.list.find((s) => s.id === id) : undefined;
  }

  channel(id: Id | null | undefined): Channel | undefined {
    if (!id) return undefined;
    for (const s of this.list) {
      const c = s.channels.find((c) => c.id === id);
      if (c) return c;
    }
    return undefined;
  }

  /** Adds a server (after create or join) unless it is there; keeps known channels. */
  upsert(server: Server & Partial<Pick<ReadyServer, 'channels' | 'roles'>>): void {
    const existing = this.get(server.id);
    if (existing) {
      Object.assign(existing, { name: server.name, icon_url: server.icon_url, owner_id: server.owner_id });
      if (server.channels) existing.channels = server.channels;
      if (server.roles) existing.roles = server.roles;
    } else {
      this.list.push({ ...server, channels: server.channels ?? [], roles: server.roles ?? [] });
    }
  }

  remove(id: Id): void {
    this.list = this.list.filter((s) => s.id !== id);
  }

  upsertChannel(channel: Channel): void {
    const server = this.get(channel.server_id);
    if (!server) return;
    const i = server.channels.findIndex((c) => c.id === channel.id);
    if (i >= 0) server.channels[i] = channel;
    else server.channels.push(channel);
  }

  removeChannel(serverId: Id, id: Id): void {
    const server = this.get(serverId);
    if (server) server.channels = server.channels.filter((c) => c.id !== id);
  }

  upsertRole(role: Role): void {
    const server = this.get(role.server_id);
    if (!server) return;
    const i = server.roles.findIndex((r) => r.id === role.id);
    if (i >= 0) server.roles[i] = role;
    else server.roles.push(role);
    server.roles.sort(byPosition);
  }

  removeRole(serverId: Id, roleId: Id): void {
    const server = this.get(serverId);
    if (server) server.roles = server.roles.filter((r) => r.id !== roleId);
  }
}

export const servers = new ServersStore();
