// The owner's Discord bridge connections (SPEC §7 "Management API") for the bridge panel. While the
// panel is open (`open()` … `close()`), the list is fetched again every `pollMs` as long as some
// connection is still connecting, resuming or backfilling; closing the panel stops it.

import * as api from '../api';
import type { BridgeConnection, BridgeMode, BridgeTokenKind, Id } from '../api';

/** Backfill is complete: every channel done and none being read (SPEC §7 "Sync"). */
export function backfillComplete(c: BridgeConnection): boolean {
  const b = c.backfill;
  return !b.current_channel_id && b.channels_done >= b.channels_total && (b.channels_total > 0 || c.status === 'ready');
}

/** Something is still moving: worth asking again soon. Paused and stopped connections are not. */
export function inProgress(c: BridgeConnection): boolean {
  if (c.status === 'connecting' || c.status === 'resuming') return true;
  return c.status === 'ready' && !backfillComplete(c);
}

export const STATUS_LABELS: Record<api.BridgeStatus, string> = {
  connecting: 'Connecting…',
  ready: 'Connected',
  resuming: 'Reconnecting…',
  paused: 'Paused',
  stopped: 'Stopped',
};

function messageOf(e: unknown): string {
  if (e instanceof api.ApiError) return e.message || e.code;
  return e instanceof Error ? e.message : String(e);
}

export class BridgeStore {
  connections = $state<BridgeConnection[]>([]);
  loaded = $state(false);
  /** The last failed refresh (the form and the rows show their own errors). */
  error = $state<string | null>(null);
  /** The panel is open: polling is allowed. */
  watching = $state(false);
  pollMs = 3000;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped by every change, so that a refresh started before it does not overwrite it. */
  #version = 0;

  /** A poll is scheduled. */
  get polling(): boolean {
    return this.#timer !== null;
  }

  open(): Promise<void> {
    this.watching = true;
    return this.refresh();
  }

  close(): void {
    this.watching = false;
    this.#cancel();
  }

  async refresh(): Promise<void> {
    this.#cancel();
    const version = this.#version;
    try {
      const list = await api.bridges();
      if (version === this.#version) this.connections = list;
      this.error = null;
    } catch (e) {
      this.error = messageOf(e);
    } finally {
      this.loaded = true;
      this.#schedule();
    }
  }

  /** Adds a connection; a refusal is thrown for the form to show. */
  async add(input: { token: string; token_kind: BridgeTokenKind; mode: BridgeMode }): Promise<BridgeConnection> {
    const created = await api.createBridge(input);
    this.#put(created);
    return created;
  }

  async pause(id: Id): Promise<void> {
    this.#put(await api.pauseBridge(id));
  }

  async resume(id: Id): Promise<void> {
    this.#put(await api.resumeBridge(id));
  }

  /** Reads history again (202), then shows the progress. */
  async backfill(id: Id): Promise<void> {
    await api.backfillBridge(id);
    await this.refresh();
  }

  async remove(id: Id): Promise<void> {
    await api.deleteBridge(id);
    this.#version++;
    this.connections = this.connections.filter((c) => c.id !== id);
    this.#schedule();
  }

  /** For tests and sign-out. */
  reset(): void {
    this.close();
    this.connections = [];
    this.loaded = false;
    this.error = null;
  }

  #put(connection: BridgeConnection): void {
    this.#version++;
    const i = this.connections.findIndex((c) => c.id === connection.id);
    if (i === -1) this.connections = [...this.connections, connection];
    else this.connections[i] = connection;
    this.#schedule();
  }

  #schedule(): void {
    if (!this.watching || !this.connections.some(inProgress)) {
      this.#cancel();
      return;
    }
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.refresh();
    }, this.pollMs);
  }

  #cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

export const bridges = new BridgeStore();
