// Message markdown as a token tree. Rendering (Markdown.svelte) builds Svelte nodes from this tree
// and never HTML from text: message text only ever becomes text nodes and a fixed set of elements.
// Supported: **bold**, *italic* / _italic_, ~~strike~~, `code`, ```code blocks```, > quotes,
// [links](https://…), bare http(s) links, ||spoilers||, <@user-id> mentions, @everyone/@here and
// <#channel-id> channel mentions.

export type MdNode =
  | { t: 'text'; v: string }
  | { t: 'br' }
  | { t: 'b' | 'i' | 's' | 'spoiler' | 'quote'; c: MdNode[] }
  | { t: 'code'; v: string }
  | { t: 'pre'; lang: string; v: string }
  | { t: 'link'; href: string; c: MdNode[] }
  | { t: 'mention'; id: string }
  | { t: 'channel'; id: string }
  | { t: 'everyone'; v: string };

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** The href to use for `raw`, or null when it is not an absolute http(s)/mailto URL. */
export function safeHref(raw: string): string | null {
  const trimmed = raw.trim();
  // Only absolute URLs with an allowed scheme; control characters and whitespace never pass.
  if (!/^(https?:\/\/|mailto:)/i.test(trimmed) || /[\u0000-\u001f\u007f\s]/.test(trimmed)) return null;
  try {
    const url = new URL(trimmed);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

const MAX_DEPTH = 8;

/** Parses a whole message. */
export function parse(source: string): MdNode[] {
  const out: MdNode[] = [];
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) {
      pushInline(out, paragraph.join('\n'));
      paragraph = [];
    }
  };
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^```([\w+-]{0,20})\s*$/.exec(line) ?? /^```([\w+-]{0,20})?(?=.)/.exec(line);
    if (line.startsWith('```') && fence) {
      // A fenced block: up to the closing fence (or the end).
      let rest = line.slice(3);
      let lang = '';
      const lm = /^([\w+-]{1,20})$/.exec(rest.trim());
      if (lm) {
        lang = lm[1]!;
        rest = '';
      }
      const body: string[] = rest ? [rest] : [];
      let j = i + 1;
      let closed = false;
      // Single-line ```code```
      if (rest.endsWith('```') && rest.length >= 3) {
        body[0] = rest.slice(0, -3);
        closed = true;
        j = i;
      }
      while (!closed && j < lines.length) {
        const l = lines[j]!;
        if (l.trimEnd().endsWith('```')) {
          const before = l.trimEnd().slice(0, -3);
          if (before) body.push(before);
          closed = true;
          break;
        }
        body.push(l);
        j++;
      }
      if (closed) {
        flush();
        if (out.length && out[out.length - 1]!.t !== 'br') out.push({ t: 'br' });
        out.push({ t: 'pre', lang, v: body.join('\n') });
        i = j + 1;
        continue;
      }
    }
    if (/^>\s?/.test(line)) {
      flush();
      const quoted: string[] = [];
      while (i < lines.length && /^>\s?/.test(lines[i]!)) {
        quoted.push(lines[i]!.replace(/^>\s?/, ''));
        i++;
      }
      if (out.length && out[out.length - 1]!.t !== 'br') out.push({ t: 'br' });
      const c: MdNode[] = [];
      pushInline(c, quoted.join('\n'));
      out.push({ t: 'quote', c });
      continue;
    }
    if (paragraph.length === 0 && out.length && out[out.length - 1]!.t !== 'br') out.push({ t: 'br' });
    paragraph.push(line);
    i++;
  }
  flush();
  return out;
}

function pushInline(out: MdNode[], text: string): void {
  for (const node of inline(text, 0)) out.push(node);
}

interface Delim {
  open: string;
  t: 'b' | 'i' | 's' | 'spoiler';
}

const DELIMS: Delim[] = [
  { open: '**', t: 'b' },
  { open: '__', t: 'b' },
  { open: '~~', t: 's' },
  { open: '||', t: 'spoiler' },
  { open: '*', t: 'i' },
  { open: '_', t: 'i' },
];

const MENTION = /^<@([0-9a-fA-F-]{36})>/;
const CHANNEL = /^<#([0-9a-fA-F-]{36})>/;
const EVERYONE = /^@(everyone|here)\b/;
const LINK = /^\[([^\]\n]{1,500})\]\(([^()\s]{1,2000})\)/;
const BARE = /^(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]])/i;

/** Inline spans of `text`. */
export function inline(text: string, depth: number): MdNode[] {
  const out: MdNode[] = [];
  let buf = '';
  const pushText = () => {
    if (buf) {
      // Newlines inside a paragraph become <br>.
      const parts = buf.split('\n');
      parts.forEach((p, k) => {
        if (k > 0) out.push({ t: 'br' });
        if (p) out.push({ t: 'text', v: p });
      });
      buf = '';
    }
  };
  let i = 0;
  outer: while (i < text.length) {
    const rest = text.slice(i);
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length && /[\\*_~|`[\]()<>@]/.test(text[i + 1]!)) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > i + 1) {
        pushText();
        out.push({ t: 'code', v: text.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
    }
    if (ch === '<') {
      const m = MENTION.exec(rest);
      if (m) {
        pushText();
        out.push({ t: 'mention', id: m[1]!.toLowerCase() });
        i += m[0].length;
        continue;
      }
      const c = CHANNEL.exec(rest);
      if (c) {
        pushText();
        out.push({ t: 'channel', id: c[1]!.toLowerCase() });
        i += c[0].length;
        continue;
      }
    }
    if (ch === '@' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const m = EVERYONE.exec(rest);
      if (m) {
        pushText();
        out.push({ t: 'everyone', v: m[0] });
        i += m[0].length;
        continue;
      }
    }
    if (ch === '[' && depth < MAX_DEPTH) {
      const m = LINK.exec(rest);
      if (m) {
        const href = safeHref(m[2]!);
        if (href) {
          pushText();
          out.push({ t: 'link', href, c: inline(m[1]!, depth + 1) });
        } else {
          // Not a safe link: the whole thing stays literal text.
          buf += m[0];
        }
        i += m[0].length;
        continue;
      }
    }
    if ((ch === 'h' || ch === 'H') && (i === 0 || !/[\w/]/.test(text[i - 1]!))) {
      const m = BARE.exec(rest);
      if (m) {
        const href = safeHref(m[1]!);
        if (href) {
          pushText();
          out.push({ t: 'link', href, c: [{ t: 'text', v: m[1]! }] });
          i += m[1]!.length;
          continue;
        }
      }
    }
    if (depth < MAX_DEPTH) {
      for (const d of DELIMS) {
        if (!rest.startsWith(d.open)) continue;
        const from = i + d.open.length;
        if (from >= text.length || /\s/.test(text[from]!)) continue;
        const end = findClose(text, from, d.open);
        if (end < 0) continue;
        pushText();
        out.push({ t: d.t, c: inline(text.slice(from, end), depth + 1) });
        i = end + d.open.length;
        continue outer;
      }
    }
    buf += ch;
    i++;
  }
  pushText();
  return out;
}

/** The index of the closing delimiter (not preceded by whitespace), or -1. */
function findClose(text: string, from: number, delim: string): number {
  let j = from;
  while (j < text.length) {
    const k = text.indexOf(delim, j);
    if (k < 0) return -1;
    if (k > from && !/\s/.test(text[k - 1]!)) {
      // `**` must not match the inside of a longer run for single `*`.
      if (delim.length === 1 && text[k + 1] === delim) {
        j = k + 2;
        continue;
      }
      return k;
    }
    j = k + 1;
  }
  return -1;
}

/** How mentions read in plain text: the names, when the caller knows them. */
export interface PlainNames {
  user?: (id: string) => string;
  channel?: (id: string) => string;
}

/** Plain text of a message (for reply previews, labels and notifications). */
export function plain(nodes: MdNode[], names: PlainNames = {}): string {
  return nodes
    .map((n) => {
      switch (n.t) {
        case 'text':
        case 'code':
        case 'pre':
        case 'everyone':
          return n.v;
        case 'br':
          return ' ';
        case 'mention':
          return '@' + (names.user?.(n.id) ?? 'user');
        case 'channel':
          return '#' + (names.channel?.(n.id) ?? 'channel');
        case 'spoiler':
          return '▮▮▮';
        default:
          return plain(n.c, names);
      }
    })
    .join('');
}

/** A channel name `#name` can spell (others are mentioned as `<#id>`). */
export const CHANNEL_NAME = /^[\p{L}\p{N}_-]{1,100}$/u;

/**
 * Turns `@username` of known users into `<@id>` mentions, and `#name` of the given channels into
 * `<#id>`, before sending (not inside code spans, and not `@everyone`/`@here`, which stay as typed).
 */
export function resolveMentions(
  content: string,
  users: { id: string; username: string }[],
  channels: { id: string; name: string }[] = [],
): string {
  const byName = new Map(users.map((u) => [u.username.toLowerCase(), u.id]));
  const byChannel = new Map(channels.map((c) => [c.name.toLowerCase(), c.id]));
  return content
    .split(/(```[\s\S]*?```|`[^`\n]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/(^|[\s(])@([A-Za-z0-9_.-]{2,32})/g, (whole, before: string, name: string) => {
              const id = byName.get(name.toLowerCase());
              return id ? `${before}<@${id}>` : whole;
            })
            .replace(/(^|[\s(])#([\p{L}\p{N}_-]{1,100})/gu, (whole, before: string, name: string) => {
              const id = byChannel.get(name.toLowerCase());
              return id ? `${before}<#${id}>` : whole;
            }),
    )
    .join('');
}
