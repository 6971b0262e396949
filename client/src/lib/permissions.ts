// Permission bits (SPEC §6) and the same computation the server does, so the client shows only
// the controls the user may use. The server checks every call regardless.

import type { Channel, Id, Member, ReadyServer, Role } from './api';

export const P = {
  VIEW_CHANNELS: 1 << 0,
  SEND_MESSAGES: 1 << 1,
  READ_HISTORY: 1 << 2,
  MANAGE_MESSAGES: 1 << 3,
  ATTACH_FILES: 1 << 4,
  MANAGE_CHANNELS: 1 << 5,
  MANAGE_SERVER: 1 << 6,
  MANAGE_ROLES: 1 << 7,
  KICK_MEMBERS: 1 << 8,
  BAN_MEMBERS: 1 << 9,
  CREATE_INVITES: 1 << 10,
  MANAGE_INVITES: 1 << 11,
  MENTION_EVERYONE: 1 << 12,
  ADMINISTRATOR: 1 << 30,
} as const;

export type PermissionName = keyof typeof P;

export const PERMISSION_NAMES = Object.keys(P) as PermissionName[];

const ALL = Object.values(P).reduce((a, b) => a | b, 0);

export function label(name: PermissionName): string {
  return name
    .toLowerCase()
    .split('_')
    .map((w, i) => (i === 0 ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join(' ');
}

/** Server-level permissions of `userId` (member may be unknown yet: @everyone only). */
export function serverPermissions(server: ReadyServer, userId: Id, member: Member | undefined): number {
  if (server.owner_id === userId) return ALL;
  let bits = server.roles.find((r) => r.id === server.id)?.permissions ?? 0;
  for (const roleId of member?.roles ?? []) {
    bits |= server.roles.find((r) => r.id === roleId)?.permissions ?? 0;
  }
  return bits & P.ADMINISTRATOR ? ALL : bits;
}

/** Channel permissions: server bits, then overwrites @everyone → roles → member. */
export function channelPermissions(
  server: ReadyServer,
  channel: Channel,
  userId: Id,
  member: Member | undefined,
): number {
  let bits = serverPermissions(server, userId, member);
  if (bits === ALL && (server.owner_id === userId || bits & P.ADMINISTRATOR)) return ALL;
  const overwrites = channel.permission_overwrites;
  const everyone = overwrites.find((o) => o.kind === 'role' && o.id === server.id);
  if (everyone) bits = (bits & ~everyone.deny) | everyone.allow;
  let deny = 0;
  let allow = 0;
  for (const o of overwrites) {
    if (o.kind === 'role' && o.id !== server.id && member?.roles.includes(o.id)) {
      deny |= o.deny;
      allow |= o.allow;
    }
  }
  bits = (bits & ~deny) | allow;
  const mine = overwrites.find((o) => o.kind === 'member' && o.id === userId);
  if (mine) bits = (bits & ~mine.deny) | mine.allow;
  return bits;
}

export function has(bits: number, bit: number): boolean {
  return (bits & bit) === bit;
}

/** The highest role position of a member (owner: Infinity). */
export function topPosition(server: ReadyServer, userId: Id, member: Member | undefined): number {
  if (server.owner_id === userId) return Number.POSITIVE_INFINITY;
  let top = 0;
  for (const id of member?.roles ?? []) {
    const role: Role | undefined = server.roles.find((r) => r.id === id);
    if (role && role.position > top) top = role.position;
  }
  return top;
}
