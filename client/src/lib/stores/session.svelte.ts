// Who is signed in and how the live connection is doing.

import { hasSession, type User } from '../api';
import type { GatewayState } from '../gateway';

export class SessionStore {
  user = $state<User | null>(null);
  signedIn = $state(hasSession());
  connection = $state<GatewayState>('idle');
  /** Set when the session ended on its own (e.g. the refresh token was refused). */
  notice = $state<string | null>(null);

  get userId(): string | null {
    return this.user?.id ?? null;
  }

  signedInAs(user: User): void {
    this.user = user;
    this.signedIn = true;
    this.notice = null;
  }

  signedOut(notice: string | null = null): void {
    this.user = null;
    this.signedIn = false;
    this.connection = 'closed';
    this.notice = notice;
  }
}

export const session = new SessionStore();
