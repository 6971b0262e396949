import { describe, expect, it } from 'vitest';
import { highlight } from './search';

describe('highlight', () => {
  it('marks the matched code point ranges', () => {
    expect(highlight('Hello, hello!', [{ start: 0, end: 5 }, { start: 7, end: 12 }])).toEqual([
      { text: 'Hello', hit: true },
      { text: ', ', hit: false },
      { text: 'hello', hit: true },
      { text: '!', hit: false },
    ]);
  });

  it('counts an emoji as one character, as the server does', () => {
    expect(highlight('🦀 world', [{ start: 2, end: 7 }])).toEqual([
      { text: '🦀 ', hit: false },
      { text: 'world', hit: true },
    ]);
  });

  it('survives bad ranges and shows context around a late match', () => {
    const clamped = highlight('abc', [{ start: 5, end: 9 }, { start: 2, end: 1 }]);
    expect(clamped.map((p) => p.text).join('')).toBe('abc');
    expect(clamped.some((p) => p.hit)).toBe(false);
    const long = 'x'.repeat(300) + 'needle' + 'y'.repeat(300);
    const parts = highlight(long, [{ start: 300, end: 306 }], 100);
    expect(parts.find((p) => p.hit)?.text).toBe('needle');
    expect(parts[0]?.text.startsWith('…')).toBe(true);
    expect(parts[parts.length - 1]?.text.endsWith('…')).toBe(true);
    expect(highlight('', [])).toEqual([]);
  });
});
