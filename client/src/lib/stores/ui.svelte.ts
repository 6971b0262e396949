// What is on screen: the route (from the address bar), open panels, the modal, the message being
// replied to or edited, and a message to scroll to.

import type { Id, Message } from '../api';

export type Route =
  | { name: 'home' }
  | { name: 'dm'; channelId: Id }
  | { name: 'channel'; serverId: Id; channelId: Id | null }
  | { name: 'invite'; code: string };

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'invite' && parts[1]) return { name: 'invite', code: parts[1] };
  if (parts[0] === 'dm' && parts[1]) return { name: 'dm', channelId: parts[1] };
  if (parts[0] === 'channels' && parts[1]) return { name: 'channel', serverId: parts[1], channelId: parts[2] ?? null };
  return { name: 'home' };
}

export function routePath(route: Route): string {
  const e = encodeURIComponent;
  switch (route.name) {
    case 'home':
      return '/';
    case 'dm':
      return `/dm/${e(route.channelId)}`;
    case 'channel':
      return `/channels/${e(route.serverId)}` + (route.channelId ? `/${e(route.channelId)}` : '');
    case 'invite':
      return `/invite/${e(route.code)}`;
  }
}

export type Modal =
  | { kind: 'create-server' }
  | { kind: 'edit-server'; serverId: Id }
  | { kind: 'create-channel'; serverId: Id }
  | { kind: 'edit-channel'; channelId: Id }
  | { kind: 'invite'; serverId: Id }
  | { kind: 'settings' }
  | { kind: 'bridges' }
  | { kind: 'history'; message: Message }
  | { kind: 'roles'; serverId: Id }
  | { kind: 'overwrites'; channelId: Id }
  | { kind: 'audit-log'; serverId: Id }
  | { kind: 'bans'; serverId: Id }
  | { kind: 'confirm'; title: string; body: string; confirm: string; action: () => Promise<void> | void };

export class UiStore {
  path = $state(typeof location === 'undefined' ? '/' : location.pathname);
  route = $derived(parseRoute(this.path));
  modal = $state<Modal | null>(null);
  showMembers = $state(true);
  showSearch = $state(false);
  /** The pinned-messages panel of the open channel. */
  showPins = $state(false);
  /** Phone width: the navigation drawer. */
  showNav = $state(false);
  replyTo = $state<Message | null>(null);
  editing = $state<Id | null>(null);
  /** A message to scroll to and highlight (after a search jump). */
  focus = $state<Id | null>(null);
  toast = $state<string | null>(null);

  navigate(path: string, replace = false): void {
    this.showNav = false;
    if (path === this.path) return;
    if (typeof history !== 'undefined') {
      if (replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
    }
    this.path = path;
    this.showNav = false;
    this.replyTo = null;
    this.editing = null;
  }

  go(route: Route, replace = false): void {
    this.navigate(routePath(route), replace);
  }

  /** The address bar changed (back/forward). */
  syncFromLocation(): void {
    if (typeof location !== 'undefined') this.path = location.pathname;
  }

  open(modal: Modal): void {
    this.modal = modal;
  }

  close(): void {
    this.modal = null;
  }

  say(text: string): void {
    this.toast = text;
  }
}

export const ui = new UiStore();
