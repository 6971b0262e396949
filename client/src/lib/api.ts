// The one module that talks HTTP to Rift: one typed function per REST route (SPEC §4, §11, §12),
// types mirroring the Rust JSON (rift/src/model.rs), one ApiError from `{error: {code, message}}`,
// and the token refresh in one place (`request`). Components never call fetch; they call these.

export type Id = string;
export type Status = 'online' | 'idle' | 'dnd' | 'invisible' | 'offline';
export type ChannelKind = 'text' | 'voice' | 'category' | 'dm';

export interface User {
  id: Id;
  username: string;
  display_name: string;
  avatar_url: string | null;
  status: Status;
  bridge_source?: string;
  created_at: string;
}

export interface Server {
  id: Id;
  name: string;
  icon_url: string | null;
  owner_id: Id;
  created_at: string;
}

export interface Overwrite {
  id: Id;
  kind: 'role' | 'member';
  allow: number;
  deny: number;
}

export interface Channel {
  id: Id;
  server_id: Id | null;
  name: string;
  kind: ChannelKind;
  topic: string | null;
  position: number;
  parent_id: Id | null;
  permission_overwrites: Overwrite[];
}

export interface Role {
  id: Id;
  server_id: Id;
  name: string;
  color: number;
  position: number;
  permissions: number;
}

/** A channel as `Ready` carries it: with its newest live message, for unread markers. */
export interface ReadyChannel extends Channel {
  last_message_id: Id | null;
}

export interface ReadyServer extends Server {
  channels: Channel[];
  roles: Role[];
}

export interface Member {
  user: User;
  server_id: Id;
  nickname: string | null;
  roles: Id[];
  joined_at: string;
}

export interface Ban {
  user: User;
  reason: string | null;
  created_at: string;
}

export interface Upload {
  id: Id;
  filename: string;
  content_type: string;
  size: number;
  url: string;
  width?: number;
  height?: number;
}

export interface Reaction {
  emoji: string;
  count: number;
  me: boolean;
}

export interface Message {
  id: Id;
  channel_id: Id;
  author: User;
  content: string;
  created_at: string;
  edited_at: string | null;
  attachments: Upload[];
  reactions: Reaction[];
  reply_to: Id | null;
  /** Pinned in its channel (`pinned_at` says when). */
  pinned?: boolean;
  pinned_at?: string | null;
  /** Whether its `@everyone`/`@here` notifies everyone: decided by the server when it was sent. */
  mention_everyone?: boolean;
  nonce?: string;
  /** Client-side only: deleted while on screen, kept as a marker for those who may see its history. */
  deleted?: boolean;
}

export interface HistoryEntry {
  id: Id;
  message_id: Id;
  action: 'edit' | 'delete';
  old_content: string | null;
  new_content: string | null;
  actor_id: Id | null;
  created_at: string;
}

export interface AuditEntry {
  id: Id;
  server_id: Id;
  actor_id: Id | null;
  action: string;
  target_id: Id | null;
  changes: unknown;
  reason: string | null;
  created_at: string;
}

export interface Invite {
  code: string;
  server: { id: Id; name: string; icon_url: string | null };
  channel_id: Id | null;
  uses: number;
  max_uses: number;
  expires_at: string | null;
  creator_id: Id;
  created_at: string;
}

export interface DmChannel {
  id: Id;
  kind: 'dm' | 'group_dm';
  name?: string;
  recipients: User[];
  last_message_id: Id | null;
}

export interface ReadState {
  channel_id: Id;
  last_read_message_id: Id;
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface AuthSession extends Tokens {
  user: User;
}

export interface Health {
  status: string;
  version: string;
  database: 'sqlite' | 'postgres';
}

export type BridgeStatus = 'connecting' | 'ready' | 'resuming' | 'paused' | 'stopped';
export type BridgeTokenKind = 'user' | 'bot';
export type BridgeMode = 'relay' | 'archive';

/** A Discord guild a connection mirrors, with the Rift server that mirrors it. */
export interface BridgedGuild {
  id: string;
  name: string;
  server_id: Id;
}

export interface BackfillProgress {
  channels_done: number;
  channels_total: number;
  messages: number;
  current_channel_id?: Id | null;
}

/** A Discord bridge connection as its owner sees it (rift/src/service/bridges.rs `BridgeView`); never the token. */
export interface BridgeConnection {
  id: Id;
  owner_id: Id;
  token_kind: BridgeTokenKind;
  mode: BridgeMode;
  status: BridgeStatus;
  status_reason?: string;
  discord_user_id?: string;
  guilds: BridgedGuild[];
  backfill: BackfillProgress;
}

/** Every failed call: the server's `{error: {code, message}}` with the HTTP status (0: no answer). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens and the one place that refreshes them.

const STORAGE_KEY = 'rift.tokens';

interface StoredTokens {
  access: string;
  refresh: string;
}

function loadTokens(): StoredTokens | null {
  try {
    const raw = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    if (
      parsed &&
      typeof parsed === 'object' &&
      typeof (parsed as StoredTokens).access === 'string' &&
      typeof (parsed as StoredTokens).refresh === 'string'
    ) {
      return parsed as StoredTokens;
    }
  } catch {
    // Unreadable storage: signed out.
  }
  return null;
}

let tokens: StoredTokens | null = loadTokens();
let refreshing: Promise<boolean> | null = null;
const signedOutListeners = new Set<() => void>();

function saveTokens(next: StoredTokens | null): void {
  tokens = next;
  try {
    if (next) globalThis.localStorage?.setItem(STORAGE_KEY, JSON.stringify(next));
    else globalThis.localStorage?.removeItem(STORAGE_KEY);
  } catch {
    // Private mode without storage: the session lives in memory only.
  }
}

export function hasSession(): boolean {
  return tokens !== null;
}

export function accessToken(): string | null {
  return tokens?.access ?? null;
}

/** Called when the session is gone for good (refresh refused): the app asks to sign in again. */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

function signOutLocally(): void {
  saveTokens(null);
  for (const listener of signedOutListeners) listener();
}

/** Trades the refresh token for a new pair, once at a time; false when the session is over. */
export function refreshTokens(): Promise<boolean> {
  if (refreshing) return refreshing;
  const current = tokens;
  if (!current) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const response = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: current.refresh }),
      });
      if (response.ok) {
        const body = (await response.json()) as Tokens;
        saveTokens({ access: body.access_token, refresh: body.refresh_token });
        return true;
      }
      if (response.status === 401 || response.status === 400) {
        signOutLocally();
      }
      return false;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = 'http_' + response.status;
  let message = response.statusText || 'request failed';
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not JSON: keep the status text.
  }
  const retry = Number(response.headers.get('Retry-After'));
  return new ApiError(response.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

type Body = Record<string, unknown> | FormData | undefined;

interface RequestOptions {
  auth?: boolean;
}

/**
 * Sends one request. With `auth`, a 401 refreshes the tokens once and retries once; a second 401
 * (or a refused refresh) signs out.
 */
async function request<T>(method: string, path: string, body?: Body, options: RequestOptions = {}): Promise<T> {
  const auth = options.auth ?? true;
  const send = (): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (auth && tokens) headers['Authorization'] = `Bearer ${tokens.access}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return fetch('/api' + path, { method, headers, body: payload });
  };
  let response: Response;
  try {
    response = await send();
    if (auth && response.status === 401 && tokens) {
      if (await refreshTokens()) {
        response = await send();
        if (response.status === 401) signOutLocally();
      }
    }
  } catch (error) {
    throw new ApiError(0, 'network_error', error instanceof Error ? error.message : 'network error');
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? '?' + text : '';
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------------------------
// Auth

function keep(session: AuthSession): AuthSession {
  saveTokens({ access: session.access_token, refresh: session.refresh_token });
  return session;
}

export async function register(input: {
  username: string;
  password: string;
  email?: string;
  display_name?: string;
}): Promise<AuthSession> {
  return keep(await request<AuthSession>('POST', '/auth/register', input, { auth: false }));
}

export async function login(input: { username: string; password: string }): Promise<AuthSession> {
  return keep(await request<AuthSession>('POST', '/auth/login', input, { auth: false }));
}

export async function logout(): Promise<void> {
  const current = tokens;
  try {
    if (current) await request<void>('POST', '/auth/logout', { refresh_token: current.refresh });
  } finally {
    signOutLocally();
  }
}

export const logoutAll = () => request<void>('POST', '/auth/logout-all');
export const health = () => request<Health>('GET', '/health', undefined, { auth: false });

// Users

export const me = () => request<User>('GET', '/users/me');
export const user = (id: Id) => request<User>('GET', `/users/${enc(id)}`);
export const updateMe = (patch: { display_name?: string; avatar_id?: Id; status?: Status }) =>
  request<User>('PATCH', '/users/me', patch);

export async function changePassword(current_password: string, new_password: string): Promise<Tokens> {
  const fresh = await request<Tokens>('PUT', '/users/me/password', { current_password, new_password });
  saveTokens({ access: fresh.access_token, refresh: fresh.refresh_token });
  return fresh;
}

export const leaveServer = (serverId: Id) => request<void>('DELETE', `/users/me/servers/${enc(serverId)}`);

// Servers

export const createServer = (name: string) => request<Server>('POST', '/servers', { name });
export const servers = () => request<Server[]>('GET', '/servers');
export const server = (id: Id) => request<Server>('GET', `/servers/${enc(id)}`);
export const updateServer = (id: Id, patch: { name?: string; icon_url?: string | null; owner_id?: Id }) =>
  request<Server>('PATCH', `/servers/${enc(id)}`, patch);
export const deleteServer = (id: Id) => request<void>('DELETE', `/servers/${enc(id)}`);
export const members = (id: Id, after?: Id, limit = 1000) =>
  request<Member[]>('GET', `/servers/${enc(id)}/members${query({ after, limit })}`);
export const kick = (serverId: Id, userId: Id) =>
  request<void>('DELETE', `/servers/${enc(serverId)}/members/${enc(userId)}`);
export const joinServer = (serverId: Id, code: string) =>
  request<Server>('POST', `/servers/${enc(serverId)}/join`, { code });
export const bans = (serverId: Id) => request<Ban[]>('GET', `/servers/${enc(serverId)}/bans`);
export const ban = (serverId: Id, userId: Id, reason?: string) =>
  request<void>('PUT', `/servers/${enc(serverId)}/bans/${enc(userId)}`, reason ? { reason } : {});
export const unban = (serverId: Id, userId: Id) =>
  request<void>('DELETE', `/servers/${enc(serverId)}/bans/${enc(userId)}`);
export const auditLog = (serverId: Id, before?: Id, limit = 50) =>
  request<AuditEntry[]>('GET', `/servers/${enc(serverId)}/audit-log${query({ before, limit })}`);

// Channels

export const createChannel = (
  serverId: Id,
  input: { name: string; kind?: ChannelKind; topic?: string | null; parent_id?: Id | null },
) => request<Channel>('POST', `/servers/${enc(serverId)}/channels`, input);
export const channels = (serverId: Id) => request<Channel[]>('GET', `/servers/${enc(serverId)}/channels`);
export const channel = (id: Id) => request<Channel>('GET', `/channels/${enc(id)}`);
export const updateChannel = (
  id: Id,
  patch: { name?: string; topic?: string | null; position?: number; parent_id?: Id | null },
) => request<Channel>('PATCH', `/channels/${enc(id)}`, patch);
export const deleteChannel = (id: Id) => request<void>('DELETE', `/channels/${enc(id)}`);
export const putOverwrite = (channelId: Id, targetId: Id, input: { kind: 'role' | 'member'; allow: number; deny: number }) =>
  request<void>('PUT', `/channels/${enc(channelId)}/permissions/${enc(targetId)}`, input);
export const deleteOverwrite = (channelId: Id, targetId: Id) =>
  request<void>('DELETE', `/channels/${enc(channelId)}/permissions/${enc(targetId)}`);
export const ack = (channelId: Id, messageId: Id) =>
  request<void>('PUT', `/channels/${enc(channelId)}/ack`, { message_id: messageId });
export const typing = (channelId: Id) => request<void>('POST', `/channels/${enc(channelId)}/typing`);

// Roles

export const roles = (serverId: Id) => request<Role[]>('GET', `/servers/${enc(serverId)}/roles`);
export const createRole = (serverId: Id, input: { name: string; color?: number; permissions?: number }) =>
  request<Role>('POST', `/servers/${enc(serverId)}/roles`, input);
export const updateRole = (
  id: Id,
  patch: { name?: string; color?: number; permissions?: number; position?: number },
) => request<Role>('PATCH', `/roles/${enc(id)}`, patch);
export const deleteRole = (id: Id) => request<void>('DELETE', `/roles/${enc(id)}`);
export const assignRole = (roleId: Id, userId: Id) =>
  request<void>('POST', `/roles/${enc(roleId)}/members/${enc(userId)}`);
export const unassignRole = (roleId: Id, userId: Id) =>
  request<void>('DELETE', `/roles/${enc(roleId)}/members/${enc(userId)}`);

// Invites

export const createInvite = (
  serverId: Id,
  input: { max_uses?: number; max_age_secs?: number; channel_id?: Id } = {},
) => request<Invite>('POST', `/servers/${enc(serverId)}/invites`, input);
export const invites = (serverId: Id) => request<Invite[]>('GET', `/servers/${enc(serverId)}/invites`);
export const invite = (code: string) => request<Invite>('GET', `/invites/${enc(code)}`, undefined, { auth: false });
export const revokeInvite = (code: string) => request<void>('DELETE', `/invites/${enc(code)}`);

// Messages

export interface SendInput {
  content: string;
  attachment_ids?: Id[];
  reply_to?: Id | null;
  nonce?: string;
}

export const sendMessage = (channelId: Id, input: SendInput) =>
  request<Message>('POST', `/channels/${enc(channelId)}/messages`, { ...input });
export const messages = (channelId: Id, page: { before?: Id; after?: Id; limit?: number } = {}) =>
  request<Message[]>('GET', `/channels/${enc(channelId)}/messages${query(page)}`);
export const message = (id: Id) => request<Message>('GET', `/messages/${enc(id)}`);
export const editMessage = (id: Id, content: string) => request<Message>('PATCH', `/messages/${enc(id)}`, { content });
export const deleteMessage = (id: Id) => request<void>('DELETE', `/messages/${enc(id)}`);
export const messageHistory = (id: Id) => request<HistoryEntry[]>('GET', `/messages/${enc(id)}/history`);
export const react = (id: Id, emoji: string) => request<void>('PUT', `/messages/${enc(id)}/reactions/${enc(emoji)}`);
export const unreact = (id: Id, emoji: string) =>
  request<void>('DELETE', `/messages/${enc(id)}/reactions/${enc(emoji)}`);

export interface SearchFilters {
  q: string;
  server_id?: Id;
  channel_id?: Id;
  author_id?: Id;
  /** RFC 3339 */
  before?: string;
  /** RFC 3339 */
  after?: string;
  has?: 'attachment';
  limit?: number;
}

/** A matched range of a result's content, in Unicode code points (`Array.from(content)` indexes). */
export interface MatchRange {
  start: number;
  end: number;
}

/** A search result: the message and where the search text matched it. */
export type SearchHit = Message & { matches: MatchRange[] };

export const search = (filters: SearchFilters) =>
  request<SearchHit[]>('GET', `/search${query({ ...filters })}`);

// Pins

export const pins = (channelId: Id) => request<Message[]>('GET', `/channels/${enc(channelId)}/pins`);
export const pin = (channelId: Id, messageId: Id) =>
  request<void>('PUT', `/channels/${enc(channelId)}/pins/${enc(messageId)}`);
export const unpin = (channelId: Id, messageId: Id) =>
  request<void>('DELETE', `/channels/${enc(channelId)}/pins/${enc(messageId)}`);

// History visibility (who sees earlier versions and deleted content) and retention

export type HistoryVisibility = 'nobody' | 'moderators' | 'everyone';
export interface HistorySettings {
  edits: HistoryVisibility;
  deletes: HistoryVisibility;
  /** Days before earlier versions and deleted content are purged; null keeps them. */
  retention_days: number | null;
}
export const historySettings = (serverId: Id) =>
  request<HistorySettings>('GET', `/servers/${enc(serverId)}/history-settings`);
export const updateHistorySettings = (serverId: Id, patch: Partial<HistorySettings>) =>
  request<HistorySettings>('PATCH', `/servers/${enc(serverId)}/history-settings`, patch);

// DMs

export const openDm = (recipientId: Id) => request<DmChannel>('POST', '/dm/channels', { recipient_id: recipientId });
export const dmChannels = () => request<DmChannel[]>('GET', '/dm/channels');

// Discord bridge (SPEC §7 "Management API"); the token is write-only.

export const createBridge = (input: { token: string; token_kind: BridgeTokenKind; mode: BridgeMode }) =>
  request<BridgeConnection>('POST', '/bridges/discord', input);
export const bridges = () => request<BridgeConnection[]>('GET', '/bridges/discord');
export const bridge = (id: Id) => request<BridgeConnection>('GET', `/bridges/discord/${enc(id)}`);
export const deleteBridge = (id: Id) => request<void>('DELETE', `/bridges/discord/${enc(id)}`);
export const backfillBridge = (id: Id, channelIds?: Id[]) =>
  request<void>('POST', `/bridges/discord/${enc(id)}/backfill`, channelIds ? { channel_ids: channelIds } : {});
export const pauseBridge = (id: Id) => request<BridgeConnection>('POST', `/bridges/discord/${enc(id)}/pause`);
export const resumeBridge = (id: Id) => request<BridgeConnection>('POST', `/bridges/discord/${enc(id)}/resume`);

// Uploads

/**
 * Uploads one file with progress (XMLHttpRequest: fetch reports no upload progress). A 401
 * refreshes once, like every other call.
 */
export function upload(file: File, onProgress?: (fraction: number) => void): Promise<Upload> {
  return sendFile<Upload>('/upload', file, onProgress);
}

/** POSTs one multipart `file` to an `/api` path with upload progress; the answer is JSON. */
async function sendFile<T>(path: string, file: File, onProgress?: (fraction: number) => void): Promise<T> {
  const attempt = () =>
    new Promise<{ status: number; text: string; retryAfter: string | null }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api' + path);
      if (tokens) xhr.setRequestHeader('Authorization', `Bearer ${tokens.access}`);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader('Retry-After') });
      xhr.onerror = () => reject(new ApiError(0, 'network_error', 'upload failed'));
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
  let result = await attempt();
  if (result.status === 401 && tokens && (await refreshTokens())) {
    result = await attempt();
    if (result.status === 401) signOutLocally();
  }
  if (result.status >= 200 && result.status < 300) {
    onProgress?.(1);
    return JSON.parse(result.text) as T;
  }
  let code = 'http_' + result.status;
  let text = 'upload failed';
  try {
    const body = JSON.parse(result.text) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    text = body.error?.message ?? text;
  } catch {
    // keep defaults
  }
  throw new ApiError(result.status, code, text);
}

// Imports (history from Discord files, run as jobs only their owner sees)

export type ImportStatus = 'running' | 'done' | 'failed';

export interface ImportProblem {
  /** A file and line (`messages/c1/messages.csv:7`) or a JSON path (`general.json: messages[3]`). */
  location: string;
  reason: string;
  /** `skipped`: the record was not imported; `note`: imported without a detail (a file kept as a link). */
  kind: 'skipped' | 'note';
}

export interface ImportReport {
  total: number;
  done: number;
  imported: number;
  unchanged: number;
  updated: number;
  skipped: number;
  files: number;
  problems: ImportProblem[];
  problems_dropped: number;
}

export interface ImportJob {
  id: Id;
  kind: string;
  filename: string;
  status: ImportStatus;
  error: string | null;
  report: ImportReport;
  created_at: string;
  finished_at: string | null;
}

/** Starts importing a data package ZIP, a DiscordChatExporter JSON, or a ZIP of exports with media. */
export const importDiscord = (file: File, onProgress?: (fraction: number) => void) =>
  sendFile<ImportJob>('/imports/discord', file, onProgress);
export const importJob = (id: Id) => request<ImportJob>('GET', `/imports/${enc(id)}`);
export const importJobs = () => request<ImportJob[]>('GET', '/imports');

/** For tests: forget the session without telling anyone. */
export function _resetForTests(next: StoredTokens | null = null): void {
  saveTokens(next);
  refreshing = null;
  signedOutListeners.clear();
}
