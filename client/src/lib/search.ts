import type { MatchRange } from './api';

/** The search operators the server understands, for the search box's help. */
export const SEARCH_OPERATORS: { example: string; meaning: string }[] = [
  { example: 'from:ada', meaning: 'sent by this user' },
  { example: 'in:general', meaning: 'in this channel (or named group DM, or a channel id)' },
  { example: 'in:@ada', meaning: 'in your direct messages with this user' },
  { example: 'has:attachment', meaning: 'with a file (also has:image, has:link)' },
  { example: 'before:2024-05-01', meaning: 'sent before that day (UTC)' },
  { example: 'after:2024-05-01', meaning: 'sent after that day' },
  { example: 'during:2024-05-01', meaning: 'sent that day' },
  { example: 'is:edited', meaning: 'edited messages (also is:pinned)' },
  { example: 'is:deleted', meaning: 'deleted messages: your own, and others’ where you may see them' },
  { example: '"exact phrase"', meaning: 'these words in this order' },
  { example: 'pre*', meaning: 'words starting with “pre”' },
  { example: '-word', meaning: 'without this word (or -"phrase")' },
];

/** A piece of text to show, marked when a search matched it. */
export interface Segment {
  text: string;
  hit: boolean;
}

/**
 * Splits `content` at the matched ranges (code point offsets, as the server counts them), keeping
 * at most `max` code points around the first match. Out-of-range or overlapping ranges are clamped.
 */
export function highlight(content: string, matches: MatchRange[], max = 200): Segment[] {
  const chars = Array.from(content);
  const first = matches.length ? Math.min(...matches.map((m) => m.start)) : 0;
  const from = Math.max(0, Math.min(first - 40, chars.length - max));
  const to = Math.min(chars.length, from + max);
  const segments: Segment[] = [];
  let at = from;
  for (const m of [...matches].sort((a, b) => a.start - b.start)) {
    const start = Math.max(at, Math.min(m.start, to));
    const end = Math.max(start, Math.min(m.end, to));
    if (start > at) segments.push({ text: chars.slice(at, start).join(''), hit: false });
    if (end > start) segments.push({ text: chars.slice(start, end).join(''), hit: true });
    at = Math.max(at, end);
  }
  if (at < to) segments.push({ text: chars.slice(at, to).join(''), hit: false });
  const head = segments[0];
  const tail = segments[segments.length - 1];
  if (from > 0 && head) head.text = '…' + head.text;
  if (to < chars.length && tail) tail.text = tail.text + '…';
  return segments;
}
