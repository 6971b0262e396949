import { afterEach, describe, expect, it, vi } from 'vitest';
import { PresenceStore, TYPING_MS } from './presence.svelte';

afterEach(() => vi.useRealTimers());

describe('PresenceStore', () => {
  it('shows invisible as offline and seeds without overriding live updates', () => {
    const p = new PresenceStore();
    p.set('a', 'idle');
    p.seed([
      { id: 'a', status: 'online' },
      { id: 'b', status: 'invisible' },
    ]);
    expect(p.of('a')).toBe('idle');
    expect(p.of('b')).toBe('offline');
    expect(p.of('nobody')).toBe('offline');
  });

  it('shows typing until it times out or the message arrives', () => {
    vi.useFakeTimers();
    const p = new PresenceStore();
    p.startTyping('c', 'a');
    p.startTyping('c', 'b');
    expect(p.typingIn('c').sort()).toEqual(['a', 'b']);
    p.stopTyping('c', 'b');
    expect(p.typingIn('c')).toEqual(['a']);
    vi.advanceTimersByTime(TYPING_MS + 1);
    expect(p.typingIn('c')).toEqual([]);
  });
});
