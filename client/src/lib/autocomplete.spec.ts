import { describe, expect, it } from 'vitest';
import { applySuggestion, MAX_SUGGESTIONS, mentionQuery, suggestChannels, suggestMentions, type Mentionable } from './autocomplete';

const people: Mentionable[] = [
  { id: 'u1', username: 'alice', display_name: 'Alice Liddell' },
  { id: 'u2', username: 'bob', display_name: 'Bobby' },
  { id: 'u3', username: 'rob.bins', display_name: 'Robin' },
  { id: 'u4', username: 'zed', display_name: 'Ann Bolt' },
];

describe('mentionQuery', () => {
  it('finds the @name before the caret', () => {
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '', trigger: '@' });
    expect(mentionQuery('hi @bo', 6)).toEqual({ start: 3, query: 'bo', trigger: '@' });
    expect(mentionQuery('(@rob.b', 7)).toEqual({ start: 1, query: 'rob.b', trigger: '@' });
    // The caret in the middle of a word: only what is before it counts.
    expect(mentionQuery('hi @bob there', 6)).toEqual({ start: 3, query: 'bo', trigger: '@' });
  });

  it('ignores e-mail addresses, finished mentions, and code', () => {
    expect(mentionQuery('mail me@example', 15)).toBeNull();
    expect(mentionQuery('@bob ', 5)).toBeNull();
    expect(mentionQuery('no at here', 10)).toBeNull();
    expect(mentionQuery('`@bo', 4)).toBeNull();
    expect(mentionQuery('```\n@bo', 7)).toBeNull();
    expect(mentionQuery('`x` @bo', 7)).toEqual({ start: 4, query: 'bo', trigger: '@' });
    expect(mentionQuery('@bö', 3)).toBeNull();
  });
});

describe('suggestMentions', () => {
  it('ranks prefix matches, then word starts, then anywhere, and leaves me out', () => {
    expect(suggestMentions('b', people, { everyone: false }).map((s) => s.key)).toEqual(['u2', 'u4', 'u3']);
    expect(suggestMentions('bo', people, { everyone: false }).map((s) => s.key)).toEqual(['u2', 'u4']);
    expect(suggestMentions('dell', people, { everyone: false }).map((s) => s.key)).toEqual(['u1']);
    expect(suggestMentions('BOB', people, { everyone: false }).map((s) => s.key)).toEqual(['u2']);
    expect(suggestMentions('', people, { everyone: false, me: 'u1' }).map((s) => s.key)).toEqual(['u4', 'u2', 'u3']);
    expect(suggestMentions('nobody', people, { everyone: false })).toEqual([]);
  });

  it('puts an exact username first', () => {
    const similar = [
      { id: 'u5', username: 'bobby', display_name: 'Aaron' },
      { id: 'u2', username: 'bob', display_name: 'Zed' },
    ];
    expect(suggestMentions('bob', similar, { everyone: false }).map((s) => s.key)).toEqual(['u2', 'u5']);
  });

  it('inserts the username, which the sender resolves to an id', () => {
    const [bobby] = suggestMentions('bobb', people, { everyone: false });
    expect(bobby).toEqual({ key: 'u2', label: 'Bobby', detail: 'bob', insert: '@bob' });
  });

  it('offers @everyone and @here only to those allowed, and always keeps room for them', () => {
    expect(suggestMentions('e', people, { everyone: false }).map((s) => s.key)).not.toContain('everyone');
    expect(suggestMentions('ev', people, { everyone: true }).map((s) => s.key)).toEqual(['everyone']);
    const many = Array.from({ length: 20 }, (_, i) => ({ id: `m${i}`, username: `member${i}`, display_name: `Member ${i}` }));
    const all = suggestMentions('', many, { everyone: true });
    expect(all).toHaveLength(MAX_SUGGESTIONS);
    expect(all.slice(-2).map((s) => s.key)).toEqual(['everyone', 'here']);
  });
});

describe('channel autocomplete', () => {
  const channels = [
    { id: 'c1', name: 'general' },
    { id: 'c2', name: 'dev-talk', category: 'Work' },
    { id: 'c3', name: 'Café talk' },
    { id: 'c4', name: 'gaming' },
  ];

  it('finds #name before the caret, unicode included, but not inside words', () => {
    expect(mentionQuery('see #ge', 7)).toEqual({ start: 4, query: 'ge', trigger: '#' });
    expect(mentionQuery('#café', 5)).toEqual({ start: 0, query: 'café', trigger: '#' });
    expect(mentionQuery('C#', 2)).toBeNull();
    expect(mentionQuery('#a.b', 4)).toBeNull();
  });

  it('ranks channels and inserts #name, or <#id> for a name # cannot spell', () => {
    expect(suggestChannels('g', channels).map((c) => c.key)).toEqual(['c1', 'c4']);
    expect(suggestChannels('talk', channels).map((c) => c.key)).toEqual(['c2', 'c3']);
    expect(suggestChannels('dev', channels)).toEqual([{ key: 'c2', label: '#dev-talk', detail: 'Work', insert: '#dev-talk' }]);
    expect(suggestChannels('caf', channels)[0]!.insert).toBe('<#c3>');
  });
});

describe('applySuggestion', () => {
  it('replaces the query and adds one space', () => {
    const text = 'hi @bo';
    const at = mentionQuery(text, 6)!;
    const [bob] = suggestMentions(at.query, people, { everyone: false });
    expect(applySuggestion(text, 6, at, bob!)).toEqual({ text: 'hi @bob ', caret: 8 });
    const mid = 'hi @bo and more';
    expect(applySuggestion(mid, 6, mentionQuery(mid, 6)!, bob!)).toEqual({ text: 'hi @bob and more', caret: 8 });
  });
});
