import { describe, expect, it } from 'vitest';
import type { Channel, ReadyServer } from '../api';
import { groupChannels, ServersStore } from './servers.svelte';

function ch(id: string, kind: Channel['kind'], position: number, parent_id: string | null = null): Channel {
  return { id, server_id: 's', name: id, kind, topic: null, position, parent_id, permission_overwrites: [] };
}

const server = (channels: Channel[]): ReadyServer => ({
  id: 's',
  name: 'S',
  icon_url: null,
  owner_id: 'u',
  created_at: '',
  channels,
  roles: [],
});

describe('servers', () => {
  it('groups channels under categories in position order', () => {
    const groups = groupChannels([ch('b', 'text', 2), ch('cat', 'category', 0), ch('a', 'text', 1, 'cat'), ch('z', 'text', 0)]);
    expect(groups.map((g) => [g.category?.id ?? null, g.channels.map((c) => c.id)])).toEqual([
      [null, ['z', 'b']],
      ['cat', ['a']],
    ]);
  });

  it('applies channel and role events', () => {
    const s = new ServersStore();
    s.reset([server([ch('a', 'text', 0)])]);
    s.upsertChannel(ch('b', 'text', 1));
    s.upsertChannel({ ...ch('a', 'text', 0), name: 'renamed' });
    expect(s.get('s')!.channels.map((c) => c.name)).toEqual(['renamed', 'b']);
    expect(s.channel('b')!.id).toBe('b');
    s.removeChannel('s', 'a');
    expect(s.channel('a')).toBeUndefined();
    s.upsertRole({ id: 'r', server_id: 's', name: 'mods', color: 0, position: 1, permissions: 8 });
    expect(s.get('s')!.roles).toHaveLength(1);
    s.removeRole('s', 'r');
    expect(s.get('s')!.roles).toHaveLength(0);
    s.remove('s');
    expect(s.list).toEqual([]);
  });
});
