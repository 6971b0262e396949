// The glue: starts the gateway, applies its events to the stores, and offers the actions
// components call (each one an api.ts call plus the store change it implies).

import * as api from './api';
import { ApiError, type Id, type Message, type Status, type Upload, type User } from './api';
import { Gateway, type EventFrame, type ReadyData } from './gateway';
import type { MentionableChannel } from './autocomplete';
import { resolveMentions } from './markdown';
import { channelPermissions, has, P } from './permissions';
import { bridges } from './stores/bridges.svelte';
import { dms } from './stores/dms.svelte';
import { members } from './stores/members.svelte';
import { messages } from './stores/messages.svelte';
import { pins } from './stores/pins.svelte';
import { presence } from './stores/presence.svelte';
import { newestFromReady, readState } from './stores/readstate.svelte';
import { groupChannels, servers } from './stores/servers.svelte';
import { session } from './stores/session.svelte';
import { ui } from './stores/ui.svelte';

export const PAGE = 50;

let gateway: Gateway | null = null;

/** The channel on screen (server channel or DM), if any. */
export function viewedChannel(): Id | null {
  const route = ui.route;
  if (route.name === 'dm') return route.channelId;
  if (route.name === 'channel') return route.channelId;
  return null;
}

export function applyReady(data: ReadyData): void {
  session.signedInAs(data.user);
  servers.reset(data.servers);
  dms.reset(data.dm_channels);
  // Ready names every channel's newest message: unread markers need no request per channel.
  readState.reset(data.read_state, newestFromReady(data.servers, data.dm_channels), data.mention_counts);
  // A fresh session may have missed anything: reload what is on screen.
  messages.reset();
  pins.clear();
  members.reset();
  presence.reset();
  presence.set(data.user.id, data.user.status);
  for (const dm of data.dm_channels) presence.seed(dm.recipients);
  const channel = viewedChannel();
  if (channel) void openChannel(channel);
  if (ui.route.name === 'channel') void loadMembers(ui.route.serverId);
}

export function applyEvent(frame: EventFrame): void {
  const me = session.userId;
  switch (frame.type) {
    case 'MessageCreate': {
      const m = frame.data;
      messages.add(m);
      presence.stopTyping(m.channel_id, m.author.id);
      const viewing = viewedChannel() === m.channel_id && (typeof document === 'undefined' || !document.hidden);
      readState.received(m, me, viewing, dms.get(m.channel_id) !== undefined);
      dms.touch(m.channel_id, m.id);
      if (viewing && m.author.id !== me) void api.ack(m.channel_id, m.id).catch(() => {});
      return;
    }
    case 'MessageUpdate':
      messages.update(frame.data);
      pins.updated(frame.data);
      return;
    case 'MessagePin':
      messages.update(frame.data);
      pins.pinned(frame.data);
      return;
    case 'MessageUnpin': {
      const { channel_id, message_id } = frame.data;
      const m = messages.find(channel_id, message_id);
      if (m) messages.update({ ...m, pinned: false, pinned_at: null });
      pins.unpinned(channel_id, message_id);
      return;
    }
    case 'MessageDelete': {
      const { channel_id, id } = frame.data;
      pins.unpinned(channel_id, id);
      const gone = messages.find(channel_id, id);
      // Its author and moderators keep a marker to open its history from; others just lose it.
      if (gone && (gone.author.id === me || canModerate(channel_id))) messages.markDeleted(channel_id, id);
      else messages.remove(channel_id, id);
      const held = messages.of(channel_id);
      // The newest live message still held, when the held window reaches the present.
      const fallback = held && !held.hasNewer ? ([...held.items].reverse().find((m) => !m.deleted && m.id !== id)?.id ?? null) : undefined;
      readState.deleted(channel_id, id, fallback);
      return;
    }
    case 'ReactionAdd':
    case 'ReactionRemove': {
      const d = frame.data;
      messages.reaction(d.channel_id, d.message_id, d.emoji, frame.type === 'ReactionAdd', d.user_id === me);
      return;
    }
    case 'TypingStart':
      if (frame.data.user_id !== me) presence.startTyping(frame.data.channel_id, frame.data.user_id);
      return;
    case 'PresenceUpdate':
      presence.set(frame.data.user_id, frame.data.status);
      return;
    case 'UserUpdate':
      if (frame.data.id === me) session.user = frame.data;
      members.updateUser(frame.data);
      messages.updateAuthor(frame.data);
      dms.updateUser(frame.data);
      return;
    case 'ChannelCreate':
    case 'ChannelUpdate':
      servers.upsertChannel(frame.data);
      return;
    case 'ChannelDelete':
      servers.removeChannel(frame.data.server_id, frame.data.id);
      messages.forget(frame.data.id);
      if (viewedChannel() === frame.data.id) ui.go({ name: 'channel', serverId: frame.data.server_id, channelId: null }, true);
      return;
    case 'DmChannelCreate':
      dms.upsert(frame.data);
      presence.seed(frame.data.recipients);
      // A DM that arrives with messages (a mirrored one) is unread until opened.
      if (frame.data.last_message_id) readState.seen(frame.data.id, frame.data.last_message_id);
      return;
    case 'ServerUpdate':
      servers.upsert(frame.data);
      return;
    case 'ServerDelete':
      leftServer(frame.data.id);
      return;
    case 'MemberAdd':
    case 'MemberUpdate':
      if (frame.data.user.id === me && !servers.get(frame.data.server_id)) void refreshServer(frame.data.server_id);
      members.upsert(frame.data);
      presence.seed([frame.data.user]);
      return;
    case 'MemberRemove':
      if (frame.data.user_id === me) leftServer(frame.data.server_id);
      else members.remove(frame.data.server_id, frame.data.user_id);
      return;
    case 'RoleCreate':
    case 'RoleUpdate':
      servers.upsertRole(frame.data);
      return;
    case 'RoleDelete':
      servers.removeRole(frame.data.server_id, frame.data.role_id);
      return;
    case 'ReadStateUpdate':
      // Read on another of my sessions.
      readState.markRead(frame.data.channel_id, frame.data.last_read_message_id);
      return;
  }
}

/** Whether I hold MANAGE_MESSAGES in a server channel. */
export function canModerate(channelId: Id): boolean {
  const channel = servers.channel(channelId);
  const server = servers.get(channel?.server_id);
  const me = session.userId;
  if (!channel || !server || !me) return false;
  return has(channelPermissions(server, channel, me, members.member(server.id, me)), P.MANAGE_MESSAGES);
}

function leftServer(serverId: Id): void {
  const server = servers.get(serverId);
  for (const c of server?.channels ?? []) messages.forget(c.id);
  servers.remove(serverId);
  members.forget(serverId);
  if (ui.route.name === 'channel' && ui.route.serverId === serverId) ui.go({ name: 'home' }, true);
}

/** Starts the live connection (after sign-in or on load with a stored session). */
export function connect(): void {
  gateway?.stop();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  gateway = new Gateway({
    url: `${scheme}//${location.host}/ws`,
    token: async () => api.accessToken(),
    refresh: () => api.refreshTokens(),
    handlers: {
      ready: applyReady,
      event: applyEvent,
      error: (e) => ui.say(e.message),
      state: (s) => (session.connection = s),
    },
  });
  gateway.start();
}

export function disconnect(): void {
  gateway?.stop();
  gateway = null;
  bridges.reset();
}

let started = false;

/** Called once at start-up. */
export function boot(): void {
  if (started) return;
  started = true;
  api.onSignedOut(() => {
    disconnect();
    session.signedOut('Your session ended. Please sign in again.');
  });
  addEventListener('popstate', () => ui.syncFromLocation());
  addEventListener('online', () => gateway?.reconnectNow());
  if (session.signedIn) connect();
}

// --- Auth ----------------------------------------------------------------------------------

export async function signIn(username: string, password: string): Promise<void> {
  const s = await api.login({ username, password });
  session.signedInAs(s.user);
  connect();
}

export async function signUp(username: string, password: string, displayName?: string): Promise<void> {
  const s = await api.register({ username, password, display_name: displayName || undefined });
  session.signedInAs(s.user);
  connect();
}

export async function signOut(): Promise<void> {
  disconnect();
  try {
    await api.logout();
  } catch {
    // Signed out locally regardless.
  }
  session.signedOut();
}

// --- Channels and messages ---------------------------------------------------------------

const opening = new Map<Id, Promise<void>>();

/** Loads a channel's newest page unless loaded, then marks it read. */
export async function openChannel(channelId: Id): Promise<void> {
  if (!messages.loaded(channelId)) {
    let pending = opening.get(channelId);
    if (!pending) {
      pending = (async () => {
        messages.setLoading(channelId, true);
        try {
          const page = await api.messages(channelId, { limit: PAGE });
          messages.setLatest(channelId, page, PAGE);
        } catch (e) {
          messages.setLatest(channelId, [], PAGE);
          messages.of(channelId)!.hasOlder = false;
          if (!(e instanceof ApiError && e.status === 403)) ui.say(errorText(e));
        }
      })().finally(() => opening.delete(channelId));
      opening.set(channelId, pending);
    }
    await pending;
  }
  markRead(channelId);
}

export function markRead(channelId: Id): void {
  const items = messages.of(channelId)?.items ?? [];
  const newest = items[items.length - 1];
  if (newest && !messages.of(channelId)?.hasNewer && readState.markRead(channelId, newest.id)) {
    void api.ack(channelId, newest.id).catch(() => {});
  }
}

export async function loadOlder(channelId: Id): Promise<void> {
  const channel = messages.of(channelId);
  if (!channel || channel.loading || !channel.hasOlder) return;
  const oldest = channel.items[0];
  messages.setLoading(channelId, true);
  try {
    const page = await api.messages(channelId, { before: oldest?.id, limit: PAGE });
    messages.prependOlder(channelId, page, PAGE);
  } catch (e) {
    messages.setLoading(channelId, false);
    ui.say(errorText(e));
  }
}

export async function loadNewer(channelId: Id): Promise<void> {
  const channel = messages.of(channelId);
  if (!channel || channel.loading || !channel.hasNewer) return;
  const newest = channel.items[channel.items.length - 1];
  messages.setLoading(channelId, true);
  try {
    const page = await api.messages(channelId, { after: newest?.id, limit: PAGE });
    messages.appendNewer(channelId, page, PAGE);
    if (!messages.of(channelId)?.hasNewer) markRead(channelId);
  } catch (e) {
    messages.setLoading(channelId, false);
    ui.say(errorText(e));
  }
}

/** Back to the newest messages after a jump. */
export async function jumpToPresent(channelId: Id): Promise<void> {
  messages.forget(channelId);
  await openChannel(channelId);
}

/** Opens a message in its channel with the messages around it, and highlights it. */
export async function jumpTo(message: Message): Promise<void> {
  const channelId = message.channel_id;
  const channel = servers.channel(channelId);
  if (channel?.server_id) ui.go({ name: 'channel', serverId: channel.server_id, channelId });
  else ui.go({ name: 'dm', channelId });
  const half = 25;
  const [older, newer] = await Promise.all([
    api.messages(channelId, { before: message.id, limit: half }),
    api.messages(channelId, { after: message.id, limit: half }),
  ]);
  messages.setAround(channelId, older, message, newer, half);
  ui.focus = message.id;
  ui.showSearch = false;
}

export function newNonce(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** The users a message in this channel can mention by @username. */
function mentionable(channelId: Id): User[] {
  const serverId = servers.channel(channelId)?.server_id;
  if (serverId) return members.of(serverId).map((m) => m.user);
  return dms.get(channelId)?.recipients ?? [];
}

/** The channels of a server channel's server that can be mentioned (none in DMs). */
function mentionableChannels(channelId: Id): MentionableChannel[] {
  const server = servers.get(servers.channel(channelId)?.server_id);
  if (!server) return [];
  return groupChannels(server.channels).flatMap((group) =>
    group.channels.map((c) => ({ id: c.id, name: c.name, ...(group.category ? { category: group.category.name } : {}) })),
  );
}

/** Who and what the composer may suggest in a channel, and whether `@everyone`/`@here` are offered. */
export function mentionCandidates(channelId: Id): { people: User[]; channels: MentionableChannel[]; everyone: boolean } {
  const channel = servers.channel(channelId);
  const server = servers.get(channel?.server_id);
  const me = session.userId;
  const everyone =
    !!channel && !!server && !!me && has(channelPermissions(server, channel, me, members.member(server.id, me)), P.MENTION_EVERYONE);
  return { people: mentionable(channelId), channels: mentionableChannels(channelId), everyone };
}

export async function send(channelId: Id, content: string, attachments: Upload[], replyTo: Id | null): Promise<void> {
  const message = await api.sendMessage(channelId, {
    content: resolveMentions(content, mentionable(channelId), mentionableChannels(channelId)),
    attachment_ids: attachments.map((a) => a.id),
    reply_to: replyTo,
    nonce: newNonce(),
  });
  if (messages.of(channelId)?.hasNewer) await jumpToPresent(channelId);
  messages.add(message);
  readState.received(message, session.userId, true);
  // My own message is read everywhere, also after a reload.
  void api.ack(channelId, message.id).catch(() => {});
}

export async function edit(message: Message, content: string): Promise<void> {
  messages.update(await api.editMessage(message.id, content));
}

export async function remove(message: Message): Promise<void> {
  await api.deleteMessage(message.id);
  // I deleted it, so I may read its history: keep the marker (the event does the same).
  messages.markDeleted(message.channel_id, message.id);
}

/** Pins or unpins a message; the gateway's MessagePin/MessageUnpin update the stores. */
export async function togglePin(message: Message): Promise<void> {
  if (message.pinned) await api.unpin(message.channel_id, message.id);
  else await api.pin(message.channel_id, message.id);
}

/** Loads a channel's pinned messages into the pins store. */
export async function loadPins(channelId: Id): Promise<void> {
  pins.set(channelId, await api.pins(channelId));
}

export async function toggleReaction(message: Message, emoji: string): Promise<void> {
  const mine = message.reactions.find((r) => r.emoji === emoji)?.me;
  if (mine) await api.unreact(message.id, emoji);
  else await api.react(message.id, emoji);
}

let lastTyping = 0;

export function typing(channelId: Id): void {
  const now = Date.now();
  if (now - lastTyping < 5000) return;
  lastTyping = now;
  gateway?.send({ type: 'StartTyping', channel_id: channelId });
}

export function setStatus(status: Status): void {
  gateway?.send({ type: 'UpdatePresence', status });
  if (session.user) session.user.status = status;
  if (session.userId) presence.set(session.userId, status);
}

// --- Servers -------------------------------------------------------------------------------

export async function loadMembers(serverId: Id): Promise<void> {
  if (members.loaded(serverId)) return;
  try {
    const list = await api.members(serverId);
    members.set(serverId, list);
    presence.seed(list.map((m) => m.user));
  } catch (e) {
    ui.say(errorText(e));
  }
}

/** Fetches a server with its channels and roles (after create or join). */
export async function refreshServer(serverId: Id): Promise<void> {
  const [server, channels, roles] = await Promise.all([api.server(serverId), api.channels(serverId), api.roles(serverId)]);
  servers.upsert({ ...server, channels, roles });
}

export async function createServer(name: string): Promise<Id> {
  const server = await api.createServer(name);
  await refreshServer(server.id);
  const general = servers.get(server.id)?.channels.find((c) => c.kind === 'text');
  ui.go({ name: 'channel', serverId: server.id, channelId: general?.id ?? null });
  return server.id;
}

export async function joinByInvite(serverId: Id, code: string, channelId: Id | null): Promise<void> {
  await api.joinServer(serverId, code);
  await refreshServer(serverId);
  members.forget(serverId);
  const target = channelId ?? servers.get(serverId)?.channels.find((c) => c.kind === 'text')?.id ?? null;
  ui.go({ name: 'channel', serverId, channelId: target });
}

export async function openDm(userId: Id): Promise<void> {
  const dm = await api.openDm(userId);
  dms.upsert(dm);
  presence.seed(dm.recipients);
  ui.go({ name: 'dm', channelId: dm.id });
}

export async function uploadFile(file: File, onProgress: (fraction: number) => void): Promise<Upload> {
  return api.upload(file, onProgress);
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message || e.code;
  return e instanceof Error ? e.message : String(e);
}

/** For tests. */
export function _gateway(): Gateway | null {
  return gateway;
}
