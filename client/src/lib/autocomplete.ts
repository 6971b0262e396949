// Mention autocomplete for the composer: where an `@name` or `#channel` being typed starts, which
// members (and `@everyone`/`@here`) or channels match it, and the text after one is picked. Pure
// functions; the composer owns the textarea and the listbox.

import { CHANNEL_NAME } from './markdown';

/** The `@…` or `#…` being typed at the caret: `start` is the index of the trigger, `query` what follows it. */
export interface MentionQuery {
  start: number;
  query: string;
  trigger: '@' | '#';
}

/** One entry of the suggestion list. */
export interface Suggestion {
  /** Stable key (a user id, or `everyone`/`here`). */
  key: string;
  /** What the list shows first (the display name, or `@everyone`). */
  label: string;
  /** What it shows beside it (the username, or what the mention reaches). */
  detail: string;
  /** The text that replaces `@query` (before the trailing space). */
  insert: string;
}

export interface Mentionable {
  id: string;
  username: string;
  display_name: string;
}

export interface MentionableChannel {
  id: string;
  name: string;
  /** Shown beside it (its category's name), if any. */
  category?: string;
}

/** At most this many suggestions are shown. */
export const MAX_SUGGESTIONS = 8;

/** Characters either kind of name may contain. */
const ANY_NAME_CHAR = /[\p{L}\p{N}_.-]/u;
/** What may follow `@` (the server's username rule: A-Z a-z 0-9 _ . -, at most 32). */
const USER_QUERY = /^[A-Za-z0-9_.-]{0,32}$/;
/** What may follow `#` (a channel name as `resolveMentions` reads it). */
const CHANNEL_QUERY = /^[\p{L}\p{N}_-]{0,100}$/u;

/**
 * The mention being typed when the caret sits right after `@` or `#` plus zero or more name
 * characters, with the trigger at the start of the text or after whitespace or `(`, and outside code.
 */
export function mentionQuery(text: string, caret: number): MentionQuery | null {
  caret = Math.min(caret, text.length);
  const chars = [...text.slice(0, caret)];
  let i = chars.length;
  while (i > 0 && ANY_NAME_CHAR.test(chars[i - 1]!)) i--;
  const trigger = chars[i - 1];
  if (i === 0 || (trigger !== '@' && trigger !== '#')) return null;
  const query = chars.slice(i).join('');
  if (!(trigger === '@' ? USER_QUERY : CHANNEL_QUERY).test(query)) return null;
  const before = chars[i - 2];
  if (before !== undefined && !/[\s(]/.test(before)) return null;
  const start = caret - query.length - 1;
  if (insideCode(text, start)) return null;
  return { start, query, trigger };
}

/** Whether `index` falls inside a fenced block or an inline code span opened before it. */
function insideCode(text: string, index: number): boolean {
  const before = text.slice(0, index);
  const fences = before.split('```').length - 1;
  if (fences % 2 === 1) return true;
  const lastLine = before.slice(before.lastIndexOf('\n') + 1).replaceAll('```', '');
  return (lastLine.split('`').length - 1) % 2 === 1;
}

/** How well `name` matches `query` (lower is better: exact, prefix, word start, anywhere), or null. */
function rank(name: string, query: string): number | null {
  const n = name.toLowerCase();
  if (n === query) return -1;
  if (n.startsWith(query)) return 0;
  // The start of a later word ("smith" in "Ann Smith", "dev" in "ann.dev").
  if (new RegExp(`[\\s_.-]${escapeRegExp(query)}`).test(n)) return 1;
  if (n.includes(query)) return 2;
  return null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The suggestions for `query`: members whose username or display name matches (prefix matches
 * first, then word starts, then anywhere; ties by name), then `@everyone` and `@here` when the
 * caller may use them. The caller itself is left out.
 */
export function suggestMentions(
  query: string,
  people: Mentionable[],
  options: { everyone: boolean; me?: string | null } = { everyone: false },
): Suggestion[] {
  const q = query.toLowerCase();
  const scored: { rank: number; person: Mentionable }[] = [];
  const seen = new Set<string>();
  for (const person of people) {
    if (person.id === options.me || seen.has(person.id)) continue;
    seen.add(person.id);
    const ranks = [rank(person.username, q), rank(person.display_name, q)].filter((r): r is number => r !== null);
    if (ranks.length) scored.push({ rank: Math.min(...ranks), person });
  }
  scored.sort(
    (a, b) =>
      a.rank - b.rank ||
      a.person.display_name.localeCompare(b.person.display_name) ||
      a.person.username.localeCompare(b.person.username),
  );
  const special: Suggestion[] = [];
  if (options.everyone) {
    for (const [word, detail] of [
      ['everyone', 'everyone in this channel'],
      ['here', 'everyone online in this channel'],
    ] as const) {
      if (word.startsWith(q)) special.push({ key: word, label: `@${word}`, detail, insert: `@${word}` });
    }
  }
  // Members first; `@everyone`/`@here` keep their places at the end even when many members match.
  const members: Suggestion[] = scored.slice(0, MAX_SUGGESTIONS - special.length).map(({ person }) => ({
    key: person.id,
    label: person.display_name,
    detail: person.username,
    insert: `@${person.username}`,
  }));
  return [...members, ...special];
}

/**
 * The channels matching `query` (name prefix first, then word starts, then anywhere; ties keep
 * the given order). A name `#name` cannot spell is inserted as `<#id>`.
 */
export function suggestChannels(query: string, channels: MentionableChannel[]): Suggestion[] {
  const q = query.toLowerCase();
  return channels
    .map((channel, order) => ({ channel, order, rank: rank(channel.name, q) }))
    .filter((c): c is { channel: MentionableChannel; order: number; rank: number } => c.rank !== null)
    .sort((a, b) => a.rank - b.rank || a.order - b.order)
    .slice(0, MAX_SUGGESTIONS)
    .map(({ channel }) => ({
      key: channel.id,
      label: `#${channel.name}`,
      detail: channel.category ?? '',
      insert: CHANNEL_NAME.test(channel.name) ? `#${channel.name}` : `<#${channel.id}>`,
    }));
}

/** The text with `@query` at `at` replaced by the suggestion and a space, and the caret after it. */
export function applySuggestion(
  text: string,
  caret: number,
  at: MentionQuery,
  suggestion: Suggestion,
): { text: string; caret: number } {
  const rest = text.slice(caret);
  const inserted = suggestion.insert + (rest.startsWith(' ') ? '' : ' ');
  const next = text.slice(0, at.start) + inserted + rest;
  return { text: next, caret: at.start + inserted.length + (rest.startsWith(' ') ? 1 : 0) };
}
