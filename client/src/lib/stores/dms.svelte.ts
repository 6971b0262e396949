// The user's DM channels.

import type { DmChannel, Id } from '../api';

export class DmsStore {
  list = $state<DmChannel[]>([]);

  reset(list: DmChannel[]): void {
    this.list = list;
  }

  get(id: Id | null | undefined): DmChannel | undefined {
    return id ? this.list.find((d) => d.id === id) : undefined;
  }

  upsert(dm: DmChannel): void {
    const i = this.list.findIndex((d) => d.id === dm.id);
    if (i >= 0) this.list[i] = dm;
    else this.list.unshift(dm);
  }

  /** A profile changed: update it among the recipients. */
  updateUser(user: DmChannel['recipients'][number]): void {
    for (const dm of this.list) dm.recipients = dm.recipients.map((r) => (r.id === user.id ? user : r));
  }

  /** Moves a DM to the top when a message arrives in it. */
  touch(id: Id, messageId: Id): void {
    const i = this.list.findIndex((d) => d.id === id);
    if (i < 0) return;
    const [dm] = this.list.splice(i, 1);
    dm!.last_message_id = messageId;
    this.list.unshift(dm!);
  }
}

export const dms = new DmsStore();
