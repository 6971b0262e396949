import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import Markdown from './components/Markdown.svelte';
import { parse, plain, resolveMentions, safeHref, type MdNode } from './markdown';

const ALLOWED = new Set(['DIV', 'STRONG', 'EM', 'S', 'CODE', 'PRE', 'BLOCKQUOTE', 'A', 'SPAN', 'BR', 'BUTTON']);

let target: HTMLElement;
let component: ReturnType<typeof mount> | null = null;

function render(content: string): HTMLElement {
  target = document.createElement('div');
  document.body.appendChild(target);
  component = mount(Markdown, { target, props: { content } });
  flushSync();
  return target;
}

afterEach(() => {
  if (component) unmount(component);
  component = null;
  target?.remove();
});

/** Asserts the rendered tree holds only allowed elements, no handlers, only safe hrefs. */
function assertInert(root: HTMLElement, source: string) {
  for (const el of root.querySelectorAll('*')) {
    expect(ALLOWED.has(el.tagName), `${el.tagName} from ${JSON.stringify(source)}`).toBe(true);
    for (const attr of el.getAttributeNames()) {
      expect(attr.startsWith('on'), `${attr} on ${el.tagName} from ${JSON.stringify(source)}`).toBe(false);
      expect(['src', 'srcdoc', 'style', 'formaction', 'action', 'xlink:href']).not.toContain(attr);
    }
    if (el.tagName === 'A') {
      const href = el.getAttribute('href') ?? '';
      expect(/^(https?:\/\/|mailto:)/i.test(href), `href ${href}`).toBe(true);
      expect(el.getAttribute('rel')).toBe('noopener noreferrer');
    }
  }
}

describe('parse', () => {
  const text = (v: string): MdNode => ({ t: 'text', v });

  it('reads the inline styles', () => {
    expect(parse('**b** *i* ~~s~~ `c` ||x||')).toEqual([
      { t: 'b', c: [text('b')] },
      text(' '),
      { t: 'i', c: [text('i')] },
      text(' '),
      { t: 's', c: [text('s')] },
      text(' '),
      { t: 'code', v: 'c' },
      text(' '),
      { t: 'spoiler', c: [text('x')] },
    ]);
  });

  it('nests bold and italic and keeps code literal', () => {
    expect(parse('**a *b* c**')).toEqual([{ t: 'b', c: [text('a '), { t: 'i', c: [text('b')] }, text(' c')] }]);
    expect(parse('`**not bold**`')).toEqual([{ t: 'code', v: '**not bold**' }]);
  });

  it('reads code blocks, quotes and line breaks', () => {
    expect(parse('```js\nlet a = "<b>";\n```')).toEqual([{ t: 'pre', lang: 'js', v: 'let a = "<b>";' }]);
    expect(parse('> quoted\nplain')).toEqual([{ t: 'quote', c: [text('quoted')] }, { t: 'br' }, text('plain')]);
    expect(parse('a\nb')).toEqual([text('a'), { t: 'br' }, text('b')]);
  });

  it('reads links, bare links and mentions', () => {
    const id = '0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b';
    expect(parse(`[docs](https://example.com/a?b=1) see https://rift.example/x. <@${id}> @everyone`)).toEqual([
      { t: 'link', href: 'https://example.com/a?b=1', c: [text('docs')] },
      text(' see '),
      { t: 'link', href: 'https://rift.example/x', c: [text('https://rift.example/x')] },
      text('. '),
      { t: 'mention', id },
      text(' '),
      { t: 'everyone', v: '@everyone' },
    ]);
  });

  it('leaves unsafe links as text', () => {
    expect(parse('[x](javascript:alert(1))')).toEqual([text('[x](javascript:alert(1))')]);
    expect(parse('[x](data:text/html,hi)')).toEqual([text('[x](data:text/html,hi)')]);
  });

  it('allows only absolute http(s) and mailto hrefs', () => {
    expect(safeHref('https://a.example/')).toBe('https://a.example/');
    expect(safeHref('mailto:a@b.example')).toBe('mailto:a@b.example');
    for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:x', 'java\tscript:x', 'data:text/html,x', 'vbscript:x', '//evil.example', '/relative', 'http://a b', 'https://x\u0000y']) {
      expect(safeHref(bad), bad).toBeNull();
    }
  });

  it('survives pathological input', () => {
    const nested = '**'.repeat(500) + 'x' + '**'.repeat(500);
    expect(() => parse(nested)).not.toThrow();
    expect(() => parse('['.repeat(10_000))).not.toThrow();
    expect(() => parse('`'.repeat(10_000) + '*'.repeat(10_000))).not.toThrow();
  });
});

describe('plain', () => {
  it('names mentions when given the names', () => {
    const id = '0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b';
    const nodes = parse(`**hi** <@${id}> in <#${id}>`);
    expect(plain(nodes)).toBe('hi @user in #channel');
    expect(plain(nodes, { user: () => 'bob', channel: () => 'general' })).toBe('hi @bob in #general');
  });
});

describe('channel mentions', () => {
  it('parses <#id> into a channel node and leaves other text alone', () => {
    const id = '0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b';
    expect(parse(`see <#${id}> now`)).toEqual([
      { t: 'text', v: 'see ' },
      { t: 'channel', id },
      { t: 'text', v: ' now' },
    ]);
    expect(parse('<#not-an-id>')).toEqual([{ t: 'text', v: '<#not-an-id>' }]);
    expect(parse(`\`<#${id}>\``)).toEqual([{ t: 'code', v: `<#${id}>` }]);
  });

  it('resolves #name of the given channels when sending', () => {
    const channels = [
      { id: 'id-general', name: 'general' },
      { id: 'id-dev', name: 'dev-talk' },
    ];
    expect(resolveMentions('go to #general, or #Dev-talk (#nope) `#general`', [], channels)).toBe(
      'go to <#id-general>, or <#id-dev> (#nope) `#general`',
    );
    expect(resolveMentions('issue#general stays', [], channels)).toBe('issue#general stays');
  });
});

describe('resolveMentions', () => {
  it('turns @username of known users into mentions, outside code', () => {
    const users = [{ id: 'id-bob', username: 'Bob' }];
    expect(resolveMentions('hi @bob and @nobody, @everyone', users)).toBe('hi <@id-bob> and @nobody, @everyone');
    expect(resolveMentions('mail bob@bob.example `@bob` ```\n@bob\n```', users)).toBe('mail bob@bob.example `@bob` ```\n@bob\n```');
  });
});

describe('Markdown rendering', () => {
  const CORPUS = [
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '<svg/onload=alert(1)>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '[x](javascript:alert(1))',
    '[x](JAVASCRIPT:alert(1))',
    '[x](  javascript:alert(1))',
    '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '[x](vbscript:msgbox(1))',
    'javascript:alert(1)',
    '[click](https://ok.example/" onmouseover="alert(1))',
    '[click](https://ok.example/"onmouseover="alert(1)")',
    'https://ok.example/"><img src=x onerror=alert(1)>',
    '**<img src=x onerror=alert(1)>**',
    '`<img src=x onerror=alert(1)>`',
    '```\n</code></pre><script>alert(1)</script>\n```',
    '> <a href="javascript:alert(1)">quote</a>',
    '||<b onclick=alert(1)>spoiler</b>||',
    '<@"><img src=x onerror=alert(1)>>',
    '&lt;script&gt;alert(1)&lt;/script&gt;',
    '<style>*{display:none}</style>',
    '<a href="https://ok.example" style="position:fixed">x</a>',
    '[<img src=x onerror=alert(1)>](https://ok.example)',
    '\u0000<script>\u0000',
  ];

  for (const source of CORPUS) {
    it(`renders ${JSON.stringify(source)} inert`, () => {
      const root = render(source);
      assertInert(root, source);
      // What looked like markup is visible as text.
      if (source.includes('<script>')) expect(root.textContent).toContain('<script>');
    });
  }

  it('renders the allowed elements', () => {
    const root = render('**b** *i* ~~s~~ `c` ||sp|| [l](https://a.example)\n> q\n```\npre\n```');
    assertInert(root, 'allowed');
    for (const tag of ['strong', 'em', 's', 'code', 'pre', 'blockquote', 'a', 'button']) {
      expect(root.querySelector(tag), tag).not.toBeNull();
    }
    const a = root.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://a.example/');
    expect(a.getAttribute('target')).toBe('_blank');
  });

  it('puts no empty line after a quote or a code block', () => {
    const root = render('> q\nafter\n```\ncode\n```\nend');
    expect(root.querySelector('blockquote')!.nextSibling?.nodeName).not.toBe('BR');
    expect(root.querySelector('pre')!.nextSibling?.nodeName).not.toBe('BR');
    expect(root.querySelectorAll('br')).toHaveLength(1);
  });

  it('keeps a javascript: link as text', () => {
    const root = render('[x](javascript:alert(1))');
    expect(root.querySelector('a')).toBeNull();
    expect(root.textContent).toContain('javascript:alert(1)');
  });
});

describe('the client', () => {
  it('never renders raw HTML: no {@html} in any component', () => {
    const sources = import.meta.glob(['../**/*.svelte'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    for (const [path, source] of Object.entries(sources)) {
      expect(source.includes('{@html'), path).toBe(false);
      expect(/\binnerHTML\b|outerHTML|insertAdjacentHTML/.test(source), path).toBe(false);
    }
  });
});
