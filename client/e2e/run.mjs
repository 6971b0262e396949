// End-to-end: a real rift-server (debug binary) on 127.0.0.1 with a temp SQLite data dir, serving
// the freshly built client, driven in Debian's Chromium by playwright-core. Two users in two
// browser contexts chat live, and one adds a Discord bridge connection that a fake Discord on
// loopback (answering 401 to everything) refuses, then imports a generated DiscordChatExporter export. Screenshots go to the artifacts dir when a step fails.
//
//   node e2e/run.mjs            (after `npm run build` and `cargo build -p rift-server`)
//
// RIFT_SERVER_BIN picks the binary (default: target/debug/rift-server of the repo, or of
// $CARGO_TARGET_DIR); CHROMIUM the browser (default /usr/bin/chromium); E2E_ARTIFACTS where
// screenshots go (default: a new temp dir, printed on failure).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const clientDir = resolve(here, '..');
const repo = resolve(clientDir, '..');
const dist = join(clientDir, 'dist');
const TIMEOUT = 20_000;

function serverBinary() {
  const candidates = [
    process.env.RIFT_SERVER_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug', 'rift-server'),
    join(repo, 'target', 'debug', 'rift-server'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no rift-server binary (tried ${candidates.join(', ')}); run cargo build -p rift-server`);
  return found;
}

/** The `rift` admin command beside the server binary (scripts/test builds both). */
function cliBinary(server) {
  const found = join(dirname(server), 'rift');
  if (!existsSync(found)) throw new Error(`no rift command at ${found}; run cargo build -p rift-cli`);
  return found;
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitForHealth(base, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`rift-server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${base}/api/health`);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('rift-server did not become healthy');
}

/** A valid 8×6 PNG, red. */
function png() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const [w, h] = [8, 6];
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < h; y++) rows.push(Buffer.from([0, ...Array.from({ length: w }, () => [220, 30, 30]).flat()]));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function assert(cond, message) {
  if (!cond) throw new Error('assertion failed: ' + message);
}

const steps = [];
async function step(name, fn) {
  const started = Date.now();
  process.stdout.write(`  ${name} … `);
  await fn();
  steps.push(name);
  console.log(`ok (${Date.now() - started} ms)`);
}

/**
 * A fake Discord on 127.0.0.1 that refuses every request as Discord refuses a bad token, recording the
 * Authorization headers it was sent (so the test knows the bridge asked it, and nothing else).
 */
async function fakeDiscord() {
  const seen = [];
  const held = [];
  const refuse = (res) => {
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: '401: Unauthorized', code: 0 }));
  };
  const fake = {
    seen,
    /** While true, requests wait (the connection stays `connecting`) until `release()`. */
    hold: false,
    release() {
      fake.hold = false;
      for (const res of held.splice(0)) if (!res.destroyed) refuse(res);
    },
  };
  const server = createHttpServer((req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null });
    req.resume();
    if (fake.hold) held.push(res);
    else refuse(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  fake.base = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => {
    fake.release();
    server.closeAllConnections();
    return new Promise((ok) => server.close(ok));
  };
  return fake;
}

async function main() {
  if (!existsSync(join(dist, 'index.html'))) throw new Error('client/dist is missing: run npm run build first');
  const bin = serverBinary();
  const data = mkdtempSync(join(tmpdir(), 'rift-e2e-data-'));
  const profile = mkdtempSync(join(tmpdir(), 'rift-e2e-chromium-'));
  const artifacts = process.env.E2E_ARTIFACTS ?? mkdtempSync(join(tmpdir(), 'rift-e2e-artifacts-'));
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serverLog = [];
  const env = { ...process.env };
  delete env.DATABASE_URL; // the temp data dir's SQLite file
  delete env.JWT_SECRET;
  // The bridge talks to the fake Discord only. No DISCORD_GATEWAY_URL: the bridge asks the fake for it
  // (GET /gateway), which is where the 401 stops the connection (a gateway URL would skip that ask).
  for (const name of ['DISCORD_TOKEN', 'DISCORD_GATEWAY_URL', 'DISCORD_API_BASE', 'DISCORD_CDN_BASE', 'RIFT_USER_ID']) delete env[name];
  const discord = await fakeDiscord();
  const child = spawn(bin, [], {
    env: {
      ...env,
      RIFT_DATA_DIR: data,
      LISTEN_ADDR: `127.0.0.1:${port}`,
      UPLOAD_DIR: join(data, 'uploads'),
      CLIENT_DIR: dist,
      RATE_LIMITS: 'off',
      DISCORD_API_BASE: `${discord.base}/api/v10`,
      DISCORD_CDN_BASE: `${discord.base}/cdn`,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => serverLog.push(String(d)));
  child.stderr.on('data', (d) => serverLog.push(String(d)));

  const contexts = [];
  const pages = {};
  const problems = [];
  try {
    await waitForHealth(base, child);
    console.log(`rift-server ${bin} on ${base}`);
    const open = async (name) => {
      // One browser per user, each with a fresh profile (--user-data-dir) of its own.
      const dir = join(profile, name);
      mkdirSync(dir);
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
        baseURL: base,
        viewport: { width: 1280, height: 800 },
      });
      contexts.push(context);
      // Record the gateway's sockets and the frame types the client sends (for the resume step).
      await context.addInitScript(() => {
        const Native = window.WebSocket;
        window.__frames = [];
        window.__sockets = [];
        window.WebSocket = class extends Native {
          constructor(...args) {
            super(...args);
            window.__sockets.push(this);
          }
          send(data) {
            try {
              window.__frames.push(JSON.parse(data).type);
            } catch {
              // not JSON
            }
            super.send(data);
          }
        };
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(TIMEOUT);
      page.on('dialog', (d) => {
        problems.push(`${name}: a dialog opened: ${d.message()}`);
        void d.dismiss();
      });
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`${name}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
      pages[name] = page;
      return page;
    };
    const alice = await open('alice');
    const bob = await open('bob');

    const message = (page, text) => page.locator('li.message', { hasText: text });
    const send = async (page, text) => {
      const box = page.getByRole('textbox', { name: /^Message / });
      await box.fill(text);
      await box.press('Enter');
      await message(page, text).first().waitFor();
    };

    async function register(page, username) {
      const response = await page.goto('/');
      const csp = response.headers()['content-security-policy'] ?? '';
      assert(csp.includes("script-src 'self'") && !csp.includes("script-src 'self' 'unsafe-inline'"), 'strict CSP on /: ' + csp);
      await page.getByRole('button', { name: 'Need an account? Register' }).click();
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: /^Welcome/ }).waitFor();
    }

    let inviteLink = '';
    await step('both users register', async () => {
      await register(alice, 'alice');
      await register(bob, 'bob');
    });

    await step('alice creates a server, a channel and an invite', async () => {
      await alice.getByRole('button', { name: 'Create a server' }).click();
      await alice.getByLabel('Server name').fill('Test Lab');
      await alice.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
      await alice.getByRole('heading', { name: '#general' }).waitFor();
      await alice.getByRole('button', { name: 'Test Lab' }).waitFor();
      await alice.getByRole('button', { name: 'Server menu' }).click();
      await alice.getByRole('button', { name: 'Create channel' }).click();
      await alice.getByLabel('Channel name').fill('random');
      await alice.getByRole('button', { name: 'Create channel' }).click();
      await alice.getByRole('heading', { name: '#random' }).waitFor();
      await alice.getByRole('button', { name: 'Server menu' }).click();
      await alice.getByRole('button', { name: 'Invite people' }).click();
      await alice.getByRole('button', { name: 'Create invite link' }).click();
      const input = alice.getByLabel('Invite link');
      await input.waitFor();
      inviteLink = await input.inputValue();
      assert(/\/invite\/\w+$/.test(inviteLink), 'invite link ' + inviteLink);
      await alice.keyboard.press('Escape');
      await alice.getByRole('dialog').waitFor({ state: 'detached' });
    });

    await step('bob joins through the /invite/:code page', async () => {
      await bob.goto(new URL(inviteLink).pathname);
      await bob.getByRole('heading', { name: 'Test Lab' }).waitFor();
      await bob.getByRole('button', { name: 'Join Test Lab' }).click();
      await bob.getByRole('heading', { name: '#general' }).waitFor();
      await bob.getByRole('link', { name: /random/ }).click();
      await bob.getByRole('heading', { name: '#random' }).waitFor();
    });

    await step('they chat live both ways, with typing and presence', async () => {
      await alice.getByRole('list', { name: 'Online members' }).getByText('bob').waitFor();
      await bob.getByRole('textbox', { name: 'Message #random' }).pressSequentially('hel');
      await alice.getByText('bob is typing…').waitFor();
      await bob.getByRole('textbox', { name: 'Message #random' }).fill('');
      await send(alice, 'hello from alice zebra');
      await message(bob, 'hello from alice zebra').waitFor();
      await send(bob, 'hi alice, bob here');
      await message(alice, 'hi alice, bob here').waitFor();
      // Shift+Enter is a new line, not a send.
      const box = alice.getByRole('textbox', { name: 'Message #random' });
      await box.fill('line one');
      await box.press('Shift+Enter');
      await box.pressSequentially('line two');
      assert((await box.inputValue()) === 'line one\nline two', 'shift+enter adds a line');
      await box.press('Enter');
      await message(bob, 'line two').waitFor();
    });

    await step('messages typed in quick succession all arrive in order; a refused one comes back to the box', async () => {
      const box = alice.getByRole('textbox', { name: 'Message #random' });
      for (const n of [1, 2, 3]) {
        await box.fill(`quick ${n} of 3`);
        await box.press('Enter');
      }
      await message(bob, 'quick 3 of 3').waitFor();
      const texts = await bob.locator('li.message').allTextContents();
      const order = texts.map((t) => /quick (\d) of 3/.exec(t)?.[1]).filter(Boolean);
      assert(order.join(',') === '1,2,3', 'quick messages: ' + order.join(','));
      const tooLong = 'x'.repeat(10_001); // over rift-server's default MAX_MESSAGE_CHARS
      await box.fill(tooLong);
      await box.press('Enter');
      await alice.getByRole('alert').waitFor();
      await alice.waitForFunction((n) => document.querySelector('textarea[aria-label="Message #random"]')?.value.length === n, tooLong.length);
      await box.fill('');
    });

    await step('a dropped connection resumes without losing events', async () => {
      await bob.evaluate(() => {
        window.__frames.length = 0;
        // A close other than 1000 leaves the session resumable, like a network drop.
        window.__sockets.at(-1).close(4000);
      });
      await send(alice, 'sent while bob was disconnected');
      await message(bob, 'sent while bob was disconnected').waitFor();
      await bob.waitForFunction(() => window.__frames.includes('Resume'));
      const frames = await bob.evaluate(() => window.__frames);
      assert(!frames.includes('Identify'), 'resumed, not re-identified: ' + frames.join(','));
      assert((await message(bob, 'sent while bob was disconnected').count()) === 1, 'the missed message shows once');
      // And the resumed session is live.
      await send(alice, 'after the resume');
      await message(bob, 'after the resume').waitFor();
    });

    await step('unread marker and mention badge for another channel', async () => {
      await bob.getByRole('link', { name: /general/ }).click();
      await bob.getByRole('heading', { name: '#general' }).waitFor();
      await send(alice, 'while bob is away');
      await bob.getByRole('link', { name: /random \(unread\)/ }).waitFor();
      await send(alice, 'look here @bob');
      await message(alice, 'look here').locator('.mention', { hasText: '@bob' }).waitFor();
      await bob.getByRole('list', { name: 'Channels' }).getByLabel('1 mentions').waitFor();
      await bob.getByRole('link', { name: /random/ }).click();
      await message(bob, 'while bob is away').waitFor();
    });

    await step('mention autocomplete: @ opens a keyboard-driven list of members', async () => {
      const box = alice.getByRole('textbox', { name: 'Message #random' });
      const list = alice.getByRole('listbox', { name: 'Mention suggestions' });
      const selected = () => list.getByRole('option', { selected: true }).textContent();
      await box.click();
      await box.pressSequentially('ping @b');
      await list.getByRole('option', { name: /bob/ }).waitFor();
      assert((await box.getAttribute('aria-controls')) === (await list.getAttribute('id')), 'the textbox controls the list');
      const activeId = await box.getAttribute('aria-activedescendant');
      assert(activeId && (await list.locator(`[id="${activeId}"]`).getAttribute('aria-selected')) === 'true', 'active option ' + activeId);
      // Esc closes the list and keeps the text.
      await box.press('Escape');
      await list.waitFor({ state: 'detached' });
      assert((await box.inputValue()) === 'ping @b', 'escape keeps the text');
      // A fresh "@": bob, then @everyone and @here (alice owns the server), never alice herself.
      await box.fill('');
      await box.pressSequentially('ping @');
      await list.getByRole('option', { name: /@everyone/ }).waitFor();
      const options = await list.getByRole('option').allTextContents();
      assert(options.length === 3 && /bob/.test(options[0]) && !options.some((o) => /alice/.test(o)), 'options: ' + options.join(' | '));
      assert(/bob/.test(await selected()), 'the first is active');
      await box.press('ArrowDown');
      assert(/@everyone/.test(await selected()), 'down moves');
      await box.press('ArrowUp');
      await box.press('ArrowUp');
      assert(/@here/.test(await selected()), 'up wraps around');
      await box.press('ArrowDown');
      await box.press('Tab');
      await list.waitFor({ state: 'detached' });
      assert((await box.inputValue()) === 'ping @bob ', 'tab inserts the mention: ' + (await box.inputValue()));
      // Enter picks too (and does not send).
      await box.pressSequentially('and @Bo');
      await list.getByRole('option', { name: /bob/ }).waitFor();
      await box.press('Enter');
      assert((await box.inputValue()) === 'ping @bob and @bob ', 'enter inserts: ' + (await box.inputValue()));
      await box.pressSequentially('autocompleted');
      await box.press('Enter');
      await message(bob, 'autocompleted').locator('.mention', { hasText: '@bob' }).first().waitFor();
      assert(await message(bob, 'autocompleted').evaluate((li) => li.classList.contains('mentions-me')), 'a mention of bob stands out for him');
      assert(!(await message(alice, 'autocompleted').evaluate((li) => li.classList.contains('mentions-me'))), 'not for its author');
      const label = await message(bob, 'autocompleted').getAttribute('aria-label');
      assert(label?.includes('@bob and @bob autocompleted'), 'the message label names the mention: ' + label);
      // #channel: the list of channels, and a link that opens the channel.
      const channels = alice.getByRole('listbox', { name: 'Channel suggestions' });
      await box.pressSequentially('over in #ge');
      await channels.getByRole('option', { name: '#general' }).waitFor();
      await box.press('Tab');
      assert((await box.inputValue()) === 'over in #general ', 'channel inserted: ' + (await box.inputValue()));
      await box.press('Enter');
      const link = message(bob, 'over in').getByRole('link', { name: '#general' });
      await link.click();
      await bob.getByRole('heading', { name: '#general' }).waitFor();
      await bob.getByRole('link', { name: /random/ }).click();
      await bob.getByRole('heading', { name: '#random' }).waitFor();
    });

    await step('edit (Up key) and the edit history shows the old text', async () => {
      const box = alice.getByRole('textbox', { name: 'Message #random' });
      await box.click();
      await box.press('ArrowUp');
      const editor = alice.getByRole('textbox', { name: 'Edit message' });
      await editor.fill('hello edited zebra');
      await editor.press('Enter');
      await message(bob, 'hello edited zebra').waitFor();
      // Alice edits her first message too, through its button.
      const first = message(alice, 'hello from alice zebra');
      await first.hover();
      await first.getByRole('button', { name: 'Edit message' }).click();
      await alice.getByRole('textbox', { name: 'Edit message' }).fill('hello from alice zebra (edited once)');
      await alice.getByRole('textbox', { name: 'Edit message' }).press('Enter');
      const edited = message(bob, 'hello from alice zebra (edited once)');
      await edited.getByText('(edited)').waitFor();
      await edited.hover();
      await edited.getByRole('button', { name: 'Message history' }).click();
      const dialog = bob.getByRole('dialog', { name: 'Message history' });
      await dialog.getByText('hello from alice zebra', { exact: true }).waitFor();
      await bob.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
    });

    await step('delete a message: gone for others, its history for the author', async () => {
      await send(alice, 'please delete me');
      await message(bob, 'please delete me').waitFor();
      const m = message(alice, 'please delete me');
      await m.hover();
      await m.getByRole('button', { name: 'Delete message' }).click();
      await alice.getByRole('dialog', { name: 'Delete message?' }).getByRole('button', { name: 'Delete' }).click();
      await message(bob, 'please delete me').waitFor({ state: 'detached' });
      await message(alice, 'please delete me').waitFor({ state: 'detached' });
      // The author keeps a marker, and its history shows the deleted text.
      const marker = alice.locator('li.message', { hasText: 'This message was deleted.' });
      await marker.hover();
      await marker.getByRole('button', { name: 'Message history' }).click();
      const dialog = alice.getByRole('dialog', { name: 'Message history' });
      await dialog.getByText(/^Deleted by alice/).waitFor();
      await dialog.getByText('please delete me', { exact: true }).waitFor();
      await alice.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      assert((await bob.locator('li.message', { hasText: 'This message was deleted.' }).count()) === 0, 'others see no marker');
    });

    await step('react with the picker', async () => {
      const m = message(bob, 'hi alice, bob here');
      await m.hover();
      await m.getByRole('button', { name: 'Add reaction' }).click();
      await bob.getByRole('button', { name: 'React with 👍' }).click();
      await message(alice, 'hi alice, bob here').getByRole('button', { name: /^👍 1/ }).waitFor();
      await message(bob, 'hi alice, bob here').getByRole('button', { name: /^👍 1 \(you reacted/ }).waitFor();
    });

    await step('reply', async () => {
      const m = message(bob, 'hi alice, bob here');
      await m.hover();
      await m.getByRole('button', { name: 'Reply' }).click();
      await bob.getByText('Replying to').waitFor();
      await send(bob, 'this is a reply');
      const reply = message(alice, 'this is a reply');
      await reply.getByText('replying to').waitFor();
      assert((await reply.textContent()).includes('hi alice, bob here'), 'reply shows the replied text');
    });

    await step('files can be dropped and pasted into the composer', async () => {
      await alice.evaluate(() => {
        const composer = document.querySelector('form.composer');
        const textarea = composer.querySelector('textarea');
        const dropped = new DataTransfer();
        dropped.items.add(new File(['dropped text'], 'dropped.txt', { type: 'text/plain' }));
        composer.dispatchEvent(new DragEvent('drop', { dataTransfer: dropped, bubbles: true, cancelable: true }));
        const pasted = new DataTransfer();
        pasted.items.add(new File(['pasted text'], 'pasted.txt', { type: 'text/plain' }));
        textarea.dispatchEvent(new ClipboardEvent('paste', { clipboardData: pasted, bubbles: true, cancelable: true }));
      });
      const pending = alice.getByRole('list', { name: 'Attachments to send' });
      await pending.getByText('dropped.txt').waitFor();
      await pending.getByText('pasted.txt').waitFor();
      await alice.getByRole('button', { name: 'Send' }).and(alice.locator(':enabled')).waitFor();
      await alice.getByRole('button', { name: 'Send' }).click();
      const sent = message(bob, 'dropped.txt');
      await sent.getByRole('link', { name: /pasted\.txt/ }).waitFor();
    });

    await step('upload an image and see its preview', async () => {
      await alice.getByLabel('Files to attach').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: png() });
      await alice.getByText('red.png').waitFor();
      await alice.getByRole('button', { name: 'Send' }).and(alice.locator(':enabled')).waitFor();
      await alice.getByRole('textbox', { name: 'Message #random' }).fill('a picture');
      await alice.getByRole('textbox', { name: 'Message #random' }).press('Enter');
      const img = message(bob, 'a picture').getByRole('img', { name: 'red.png' });
      await img.waitFor();
      await bob.waitForFunction(
        () => [...document.querySelectorAll('img.preview')].some((i) => i.complete && i.naturalWidth === 8),
        undefined,
        { timeout: TIMEOUT },
      );
    });

    await step('a hostile message stays inert', async () => {
      const hostile =
        '<img src=x onerror="window.pwned=1"> [click](javascript:window.pwned=2) <script>window.pwned=3</script> **<b onmouseover=alert(1)>bold</b>** <a href="javascript:window.pwned=4">a</a>';
      await alice.getByRole('textbox', { name: 'Message #random' }).fill(hostile);
      await alice.getByRole('textbox', { name: 'Message #random' }).press('Enter');
      const m = message(bob, 'javascript:window.pwned=2');
      await m.waitFor();
      const text = await m.textContent();
      assert(text.includes('<img src=x onerror="window.pwned=1">') && text.includes('<script>'), 'markup shows as text');
      for (const page of [alice, bob]) {
        const found = await page.evaluate(() => ({
          xss: window.pwned ?? null,
          imgs: document.querySelectorAll('.messages img[src="x"], .messages script, .messages b').length,
          js: [...document.querySelectorAll('a')].filter((a) => !/^(https?:|mailto:|\/)/.test(a.getAttribute('href') ?? '')).length,
          handlers: [...document.querySelectorAll('.messages *')].filter((el) => el.getAttributeNames().some((n) => n.startsWith('on'))).length,
        }));
        assert(found.xss === null && found.imgs === 0 && found.js === 0 && found.handlers === 0, JSON.stringify(found));
      }
    });

    await step('search with a filter and jump to the result in its context', async () => {
      // Push the searched message out of view first.
      for (let i = 0; i < 12; i++) await send(bob, `filler ${i}`);
      await bob.getByRole('button', { name: 'Search messages' }).click();
      const panel = bob.getByRole('complementary', { name: 'Search' });
      await panel.getByLabel('Search for').fill('zebra');
      await panel.getByLabel('Author').selectOption({ label: 'alice' });
      await panel.getByRole('button', { name: 'Search', exact: true }).click();
      const results = panel.getByRole('list', { name: 'Search results' });
      await results.getByText('hello from alice zebra (edited once)').waitFor();
      assert((await results.getByRole('listitem').count()) === 2, 'two zebra messages by alice');
      await results.getByText('hello from alice zebra (edited once)').click();
      const focused = bob.locator('li.message.focused', { hasText: 'hello from alice zebra (edited once)' });
      await focused.waitFor();
      await bob.waitForFunction(() => {
        const el = document.querySelector('li.message.focused');
        const box = document.querySelector('.message-scroll');
        if (!el || !box) return false;
        const r = el.getBoundingClientRect();
        const b = box.getBoundingClientRect();
        return r.top >= b.top && r.bottom <= b.bottom;
      });
    });

    await step('pin a message: the pinned panel lists it; an operator search highlights its match', async () => {
      await send(bob, 'pin this for alice please');
      const m = message(alice, 'pin this for alice please');
      await m.hover();
      await m.getByRole('button', { name: 'Pin message' }).click();
      await message(bob, 'pin this for alice please').getByTitle('Pinned').waitFor();
      await bob.getByRole('button', { name: 'Pinned messages' }).click();
      const pinned = bob.getByRole('complementary', { name: 'Pinned messages' });
      await pinned.getByText('pin this for alice please').waitFor();
      await pinned.getByRole('button', { name: 'Close pinned messages' }).click();
      const panel = bob.getByRole('complementary', { name: 'Search' });
      if (!(await panel.isVisible())) await bob.getByRole('button', { name: 'Search messages' }).click();
      await panel.getByLabel('Author').selectOption({ label: 'Anyone' });
      await panel.getByText('Search operators').click();
      await panel.getByRole('list', { name: 'Search operators' }).getByText('is:edited').waitFor();
      await panel.getByLabel('Search for').fill('is:pinned from:bob ali*');
      await panel.getByRole('button', { name: 'Search', exact: true }).click();
      const results = panel.getByRole('list', { name: 'Search results' });
      await results.locator('mark', { hasText: 'alice' }).waitFor();
      assert((await results.getByRole('listitem').count()) === 1, 'one pinned message by bob');
    });

    await step('a DM between the two', async () => {
      await alice.getByRole('list', { name: 'Online members' }).getByRole('button', { name: /bob/ }).click();
      await alice.getByRole('button', { name: 'Message bob', exact: true }).click();
      await alice.getByRole('heading', { name: 'bob' }).waitFor();
      await send(alice, 'psst, a direct message');
      await bob.getByRole('button', { name: 'Direct messages' }).click();
      await bob.getByRole('link', { name: /alice/ }).click();
      await message(bob, 'psst, a direct message').waitFor();
    });

    await step('reload: still signed in, history back', async () => {
      await bob.reload();
      await message(bob, 'psst, a direct message').waitFor();
      await bob.getByRole('button', { name: 'Test Lab' }).click();
      await bob.getByRole('link', { name: /random/ }).click();
      await message(bob, 'a picture').waitFor();
      await bob.getByRole('heading', { name: 'Welcome to Rift' }).waitFor({ state: 'detached' });
    });

    await step('user settings: display name, status, password; sign out and back in', async () => {
      await bob.getByRole('button', { name: 'User settings' }).click();
      const d = bob.getByRole('dialog', { name: 'User settings' });
      await d.getByLabel('Display name').fill('Bobby');
      await d.getByLabel('Status').selectOption('dnd');
      await d.getByRole('button', { name: 'Save profile' }).click();
      await d.getByText('Profile saved.').waitFor();
      await d.getByLabel('Current password').fill('correct horse battery');
      await d.getByLabel('New password').fill('another good password');
      await d.getByRole('button', { name: 'Change password' }).click();
      await d.getByText(/^Password changed/).waitFor();
      await bob.keyboard.press('Escape');
      await bob.locator('.user-panel').getByText('Bobby').waitFor();
      // Alice (in the DM view) sees bob's new status live.
      await alice.locator('.dm-row .presence-dot.dnd').waitFor();
      await alice.locator('.dm-row', { hasText: 'Bobby' }).waitFor();
      await bob.getByRole('button', { name: 'User settings' }).click();
      await bob.getByRole('dialog', { name: 'User settings' }).getByRole('button', { name: 'Sign out' }).click();
      await bob.getByLabel('Username').fill('bob');
      await bob.getByLabel('Password').fill('correct horse battery');
      await bob.getByRole('button', { name: 'Sign in' }).click();
      await bob.getByRole('alert').getByText(/invalid|credentials|password/i).waitFor();
      await bob.getByLabel('Password').fill('another good password');
      await bob.getByRole('button', { name: 'Sign in' }).click();
      await bob.getByRole('button', { name: 'Test Lab' }).click();
      await bob.getByRole('link', { name: /general/ }).click();
      await bob.getByRole('heading', { name: '#general' }).waitFor();
    });

    await step('unread state comes from Ready: no per-channel message fetch at start-up', async () => {
      // Bob answers alice's DM (his own message must not count as unread later), then goes to #general.
      await bob.getByRole('button', { name: 'Direct messages' }).click();
      await bob.getByRole('link', { name: /alice/ }).click();
      await send(bob, 'my own reply');
      await bob.getByRole('button', { name: 'Test Lab' }).click();
      await bob.getByRole('link', { name: /general/ }).click();
      await bob.getByRole('heading', { name: '#general' }).waitFor();
      assert((await bob.getByRole('link', { name: /random \(unread\)/ }).count()) === 0, '#random starts read');
      const here = new URL(bob.url()).pathname;
      const generalId = here.split('/')[3];
      await bob.goto('about:blank');
      await alice.getByRole('button', { name: 'Test Lab' }).click();
      await alice.getByRole('link', { name: /random/ }).click();
      await alice.getByRole('heading', { name: '#random' }).waitFor();
      await send(alice, 'posted while bob was offline');
      // More than a screen of unread messages (sent through the API by the test).
      await alice.evaluate(async () => {
        const token = JSON.parse(localStorage.getItem('rift.tokens')).access;
        const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
        const channel = location.pathname.split('/')[3];
        for (let i = 1; i <= 40; i++) {
          await fetch(`/api/channels/${channel}/messages`, { method: 'POST', headers, body: JSON.stringify({ content: `backlog ${i}.` }) });
        }
      });
      const box = alice.getByRole('textbox', { name: 'Message #random' });
      await box.fill('this one is for you @bob');
      await box.press('Enter');
      await message(alice, 'this one is for you').waitFor();
      const fetched = [];
      const onRequest = (request) => {
        const m = /^\/api\/channels\/([^/]+)\/messages/.exec(new URL(request.url()).pathname);
        if (m && request.method() === 'GET') fetched.push(m[1]);
      };
      bob.on('request', onRequest);
      await bob.goto(here);
      await bob.getByRole('heading', { name: '#general' }).waitFor();
      await bob.getByRole('link', { name: /random \(unread\)/ }).waitFor();
      // The mention badge survives the reload (Ready counts unread mentions).
      await bob.getByRole('list', { name: 'Channels' }).getByLabel('1 mentions').waitFor();
      await bob.getByRole('button', { name: 'Test Lab' }).getByLabel('1 mentions').waitFor();
      const described = await bob.getByRole('button', { name: 'Test Lab' }).evaluate(
        (button) => document.getElementById(button.getAttribute('aria-describedby') ?? '')?.getAttribute('aria-label'),
      );
      assert(described === '1 mentions', 'the server button describes its badge: ' + described);
      await bob.waitForLoadState('networkidle');
      bob.off('request', onRequest);
      assert(fetched.length > 0 && fetched.every((id) => id === generalId), 'message fetches at start-up: ' + fetched.join(', '));
      assert((await bob.locator('.server-button.home .pip, .server-button.home .badge').count()) === 0, 'my own DM reply is read');
      // Reading it in one tab clears the marker in bob's other tab too.
      const tab = await bob.context().newPage();
      await tab.goto(here);
      await tab.getByRole('link', { name: /random \(unread\)/ }).waitFor();
      await bob.getByRole('link', { name: /random/ }).click();
      await message(bob, 'posted while bob was offline').waitFor();
      // The channel opens at the "New" divider, the first unread message in view, not at the bottom.
      await bob.waitForFunction(() => {
        const scroller = document.querySelector('.message-scroll');
        const divider = document.querySelector('.unread-divider');
        if (!scroller || !divider) return false;
        const box = scroller.getBoundingClientRect();
        const at = divider.getBoundingClientRect();
        return at.top >= box.top - 1 && at.bottom <= box.bottom && scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 40;
      });
      await bob.getByRole('link', { name: /random \(unread\)/ }).waitFor({ state: 'detached' });
      await tab.getByRole('link', { name: /random \(unread\)/ }).waitFor({ state: 'detached' });
      await tab.close();
      await bob.getByRole('link', { name: /general/ }).click();
      await bob.getByRole('heading', { name: '#general' }).waitFor();
      // A message deleted before bob read it leaves no unread marker behind.
      await box.fill('oops, wrong channel @bob');
      await box.press('Enter');
      await message(alice, 'oops, wrong channel').waitFor();
      await bob.getByRole('link', { name: /random \(unread\)/ }).waitFor();
      await bob.getByRole('list', { name: 'Channels' }).getByLabel('1 mentions').waitFor();
      const oops = await message(alice, 'oops, wrong channel').getAttribute('data-message-id');
      await alice.evaluate(async (id) => {
        const token = JSON.parse(localStorage.getItem('rift.tokens')).access;
        await fetch(`/api/messages/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
      }, oops);
      await bob.getByRole('link', { name: /random \(unread\)/ }).waitFor({ state: 'detached' });
      await bob.getByRole('list', { name: 'Channels' }).getByLabel(/mentions/).waitFor({ state: 'detached' });
      await alice.getByRole('link', { name: /general/ }).click();
      await alice.getByRole('heading', { name: '#general' }).waitFor();
    });

    await step('phone width: the navigation is a drawer', async () => {
      await bob.setViewportSize({ width: 390, height: 800 });
      await bob.getByRole('button', { name: 'Open navigation' }).click();
      await bob.getByRole('link', { name: /general/ }).click();
      await bob.getByRole('heading', { name: '#general' }).waitFor();
      await bob.getByRole('link', { name: /general/ }).waitFor({ state: 'hidden' });
      await bob.getByRole('textbox', { name: 'Message #general' }).waitFor();
    });

    await step('roles, a channel overwrite, the audit log and a kick', async () => {
      await alice.getByRole('button', { name: 'Test Lab' }).click();
      await alice.getByRole('heading', { name: '#general' }).waitFor();
      await alice.getByRole('button', { name: 'Server menu' }).click();
      await alice.getByRole('button', { name: 'Roles' }).click();
      const roles = alice.getByRole('dialog', { name: 'Roles' });
      await roles.getByRole('button', { name: 'Create role' }).click();
      await roles.getByLabel('Role name').fill('mods');
      await roles.getByLabel('Manage messages').check();
      await roles.getByRole('button', { name: 'Save role' }).click();
      await roles.getByRole('list', { name: 'Roles' }).getByRole('button', { name: 'mods' }).waitFor();
      await alice.keyboard.press('Escape');
      await roles.waitFor({ state: 'detached' });

      const bobCard = alice.locator('.member-list .member', { hasText: /bob/i });
      await bobCard.getByRole('button', { name: /bob/i }).first().click();
      await bobCard.getByRole('checkbox', { name: 'mods' }).check();
      await alice.waitForFunction(() => document.querySelector('.member-list')?.textContent?.includes('Roles: mods'));

      await alice.getByRole('button', { name: 'Permissions of general' }).click();
      const ow = alice.getByRole('dialog', { name: 'Permissions of #general' });
      await ow.getByLabel('Add role or member').selectOption({ label: '@everyone' });
      await ow.getByLabel('Attach files').selectOption('deny');
      await ow.getByRole('button', { name: 'Save overwrite' }).click();
      await ow.getByRole('list', { name: 'Overwrites' }).getByRole('button', { name: '@everyone' }).waitFor();
      await alice.keyboard.press('Escape');
      // Bob (in #general) loses the attach button live.
      await bob.getByRole('button', { name: 'Attach files' }).waitFor({ state: 'detached' });

      // Bob, now a moderator, deletes alice's message (through the API); the audit log opens its history.
      await send(alice, 'moderated away');
      const deletedId = await message(alice, 'moderated away').getAttribute('data-message-id');
      const status = await bob.evaluate(async (id) => {
        const token = JSON.parse(localStorage.getItem('rift.tokens')).access;
        const r = await fetch(`/api/messages/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
        return r.status;
      }, deletedId);
      assert(status === 204, 'moderator delete: ' + status);
      await message(alice, 'moderated away').waitFor({ state: 'detached' });

      await alice.getByRole('button', { name: 'Server menu' }).click();
      await alice.getByRole('button', { name: 'Audit log' }).click();
      const log = alice.getByRole('dialog', { name: 'Audit log' });
      for (const action of ['message_delete', 'role_create', 'member_role_update', 'overwrite_update', 'channel_create', 'invite_create']) {
        await log.getByText(action, { exact: true }).first().waitFor();
      }
      await log.getByRole('button', { name: 'View deleted message' }).click();
      const history = alice.getByRole('dialog', { name: 'Message history' });
      await history.getByText(/^Deleted by bob/i).waitFor();
      await history.getByText('moderated away', { exact: true }).waitFor();
      await alice.keyboard.press('Escape');
      await history.waitFor({ state: 'detached' });
      await log.waitFor();
      await alice.keyboard.press('Escape');
      await log.waitFor({ state: 'detached' });

      await bobCard.getByRole('button', { name: 'Kick' }).click();
      await alice.getByRole('dialog', { name: /^Kick/ }).getByRole('button', { name: 'Kick' }).click();
      await bob.getByRole('button', { name: 'Test Lab' }).waitFor({ state: 'detached' });
      await bobCard.waitFor({ state: 'detached' });
    });

    await step('older history loads as you scroll up, keeping your place', async () => {
      // 120 messages in a new channel, sent through the API (the test, not the client, calls fetch).
      await alice.evaluate(async () => {
        const token = JSON.parse(localStorage.getItem('rift.tokens')).access;
        const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
        const server = location.pathname.split('/')[2];
        const made = await fetch(`/api/servers/${server}/channels`, { method: 'POST', headers, body: JSON.stringify({ name: 'history' }) });
        const channel = await made.json();
        for (let i = 1; i <= 120; i++) {
          await fetch(`/api/channels/${channel.id}/messages`, { method: 'POST', headers, body: JSON.stringify({ content: `history message ${i}.` }) });
        }
      });
      await alice.getByRole('link', { name: /history/ }).click();
      await message(alice, 'history message 120.').waitFor();
      assert((await message(alice, 'history message 70.').count()) === 0, 'only the newest page at first');
      const anchorText = 'history message 71.';
      const top = () =>
        alice.evaluate((text) => {
          const el = [...document.querySelectorAll('li.message')].find((li) => li.textContent.includes(text));
          return el.getBoundingClientRect().top;
        }, anchorText);
      await alice.evaluate(() => {
        document.querySelector('.message-scroll').scrollTop = 0;
      });
      await message(alice, 'history message 21.').waitFor({ state: 'attached' });
      const before = await alice.evaluate(() => document.querySelector('.message-scroll').scrollTop);
      assert(before > 0, 'the list moved down by the height of what was loaded above');
      const anchorTop = await top();
      const boxTop = await alice.evaluate(() => document.querySelector('.message-scroll').getBoundingClientRect().top);
      assert(Math.abs(anchorTop - boxTop) < 120, `the message that was at the top stays near the top (${anchorTop} vs ${boxTop})`);
      await alice.evaluate(() => {
        document.querySelector('.message-scroll').scrollTop = 0;
      });
      await message(alice, 'history message 1.').waitFor({ state: 'attached' });
      await alice.getByText('This is the start of the conversation.').waitFor();
      const numbers = await alice.evaluate(() =>
        [...document.querySelectorAll('li.message')].map((li) => /history message (\d+)\./.exec(li.textContent)?.[1]).filter(Boolean).map(Number),
      );
      assert(numbers.length === 120 && numbers.every((n, i) => n === i + 1), 'all 120 loaded once, in order: ' + numbers.join(','));
    });

    await step('a signed-out visitor registers on the invite page and joins; a ban keeps them out', async () => {
      const carol = await open('carol');
      await carol.goto(new URL(inviteLink).pathname);
      await carol.getByRole('heading', { name: 'Test Lab', exact: true }).waitFor();
      await carol.getByRole('heading', { name: 'Sign in to join Test Lab' }).waitFor();
      await carol.getByRole('button', { name: 'Need an account? Register' }).click();
      await carol.getByLabel('Username').fill('carol');
      await carol.getByLabel('Password').fill('correct horse battery');
      await carol.getByRole('button', { name: 'Create account' }).click();
      await carol.getByRole('button', { name: 'Join Test Lab' }).click();
      await carol.getByRole('heading', { name: '#general' }).waitFor();

      await alice.getByRole('link', { name: /general/ }).click();
      const card = alice.locator('.member-list .member', { hasText: 'carol' });
      await card.getByRole('button', { name: /carol/ }).click();
      await card.getByRole('button', { name: 'Ban' }).click();
      await alice.getByRole('dialog', { name: /^Ban/ }).getByRole('button', { name: 'Ban' }).click();
      await carol.getByRole('button', { name: 'Test Lab' }).waitFor({ state: 'detached' });
      await alice.getByRole('button', { name: 'Server menu' }).click();
      await alice.getByRole('button', { name: 'Bans' }).click();
      const bans = alice.getByRole('dialog', { name: 'Bans' });
      await bans.getByText('@carol').waitFor();
      await alice.keyboard.press('Escape');

      await carol.goto(new URL(inviteLink).pathname);
      await carol.getByRole('button', { name: 'Join Test Lab' }).click();
      await carol.getByRole('alert').getByText(/banned/i).waitFor();
    });

    await step('alice adds a Discord bridge connection; the fake Discord refuses it; pause, resume and remove work', async () => {
      const token = 'e2e-made-up-token-' + Math.random().toString(36).slice(2);
      await alice.getByRole('button', { name: 'User settings' }).click();
      await alice.getByRole('dialog', { name: 'User settings' }).getByRole('button', { name: 'Discord bridge' }).click();
      const panel = alice.getByRole('dialog', { name: 'Discord bridge' });
      await panel.getByText('No connections yet.').waitFor();
      // The plain warning is there while a user token is chosen, and goes with a bot token.
      const warning = panel.getByRole('note', { name: 'Warning about user tokens' });
      await warning.getByText(/Terms of Service forbid automating user accounts/).waitFor();
      await panel.getByRole('radio', { name: 'Bot', exact: true }).check();
      await warning.waitFor({ state: 'detached' });
      await panel.getByRole('radio', { name: 'User account', exact: true }).check();
      await warning.waitFor();
      // An API refusal shows in the form.
      await panel.getByLabel('Discord token').fill('   ');
      await panel.getByRole('button', { name: 'Add connection' }).click();
      await panel.getByRole('alert').getByText('token must be 1 to 512 characters').waitFor();

      const tokenField = panel.getByLabel('Discord token');
      assert((await tokenField.getAttribute('type')) === 'password', 'the token field is a password field');
      await tokenField.fill(token);
      await panel.getByRole('radio', { name: 'Archive (read only)' }).check();
      await panel.getByRole('button', { name: 'Add connection' }).click();
      const row = panel.locator('li.bridge', { hasText: 'Connection 1' });
      await row.waitFor();
      await row.getByText('User account · archive (read only)').waitFor();
      // Polled until the bridge gives up on the refused token.
      await row.locator('.bridge-status', { hasText: 'Stopped' }).waitFor();
      await row.getByText(/^Stopped: .*token/).waitFor();
      assert(
        discord.seen.some((r) => r.authorization === token),
        'the bridge sent the token to the fake Discord: ' + JSON.stringify(discord.seen.map((r) => r.url)),
      );
      await row.getByRole('progressbar', { name: 'Connection 1 backfill progress' }).waitFor();
      await row.getByText('0 / 0 channels').waitFor();

      const tokenOnPage = () =>
        alice.evaluate(
          (t) =>
            document.documentElement.outerHTML.includes(t) ||
            [...document.querySelectorAll('input, textarea')].some((el) => el.value.includes(t)) ||
            JSON.stringify({ ...localStorage }).includes(t) ||
            JSON.stringify({ ...sessionStorage }).includes(t),
          token,
        );
      assert(!(await tokenOnPage()), 'the token is nowhere in the page after submit');
      assert((await tokenField.inputValue()) === '', 'the token field is cleared');

      // Backfill needs a running connection.
      assert(await row.getByRole('button', { name: 'Backfill Connection 1 again' }).isDisabled(), 'no backfill while stopped');

      // Resume restarts it; while the fake Discord holds its answer it is connecting, and pause stops it.
      discord.hold = true;
      const asked = discord.seen.length;
      await row.getByRole('button', { name: 'Resume Connection 1' }).click();
      await row.locator('.bridge-status', { hasText: 'Connecting' }).waitFor();
      // The open panel polls while something is in progress; closing it stops the polling.
      let polls = 0;
      const countPolls = (request) => {
        if (request.method() === 'GET' && new URL(request.url()).pathname === '/api/bridges/discord') polls++;
      };
      alice.on('request', countPolls);
      for (let i = 0; i < 100 && polls === 0; i++) await alice.waitForTimeout(100);
      assert(polls > 0, 'the panel polls while the connection is connecting');
      await alice.keyboard.press('Escape');
      await panel.waitFor({ state: 'detached' });
      polls = 0;
      await alice.waitForTimeout(4000);
      alice.off('request', countPolls);
      assert(polls === 0, `no polling once the panel is closed (${polls} requests)`);
      await alice.getByRole('button', { name: 'User settings' }).click();
      await alice.getByRole('dialog', { name: 'User settings' }).getByRole('button', { name: 'Discord bridge' }).click();
      await row.locator('.bridge-status', { hasText: 'Connecting' }).waitFor();
      await row.getByRole('button', { name: 'Pause Connection 1' }).click();
      await row.locator('.bridge-status', { hasText: 'Paused' }).waitFor();
      await row.getByRole('button', { name: 'Resume Connection 1' }).waitFor();
      discord.release();
      await alice.waitForTimeout(500);
      await row.locator('.bridge-status', { hasText: 'Paused' }).waitFor();
      // Resumed for good, it is refused again and stops.
      await row.getByRole('button', { name: 'Resume Connection 1' }).click();
      await row.locator('.bridge-status', { hasText: 'Stopped' }).waitFor();
      assert(discord.seen.length > asked, 'resume asked the fake Discord again');

      // Phone width: the panel fits without sideways scrolling.
      await alice.setViewportSize({ width: 390, height: 760 });
      const overflow = await alice.evaluate(() => {
        const d = document.querySelector('dialog.modal[open] .modal-body');
        return d.scrollWidth - d.clientWidth;
      });
      assert(overflow <= 1, 'the bridge panel fits a phone width: overflow ' + overflow);
      await alice.setViewportSize({ width: 1280, height: 800 });

      await row.getByRole('button', { name: 'Remove Connection 1' }).click();
      const confirm = alice.getByRole('dialog', { name: 'Remove Discord connection' });
      await confirm.getByRole('button', { name: 'Remove' }).click();
      await confirm.waitFor({ state: 'detached' });
      await panel.getByText('No connections yet.').waitFor();
      assert(!(await tokenOnPage()), 'the token is nowhere in the page at the end');
      const list = await alice.evaluate(async () => {
        const { access } = JSON.parse(localStorage.getItem('rift.tokens'));
        const r = await fetch('/api/bridges/discord', { headers: { Authorization: `Bearer ${access}` } });
        return r.json();
      });
      assert(Array.isArray(list) && list.length === 0, 'the connection is gone: ' + JSON.stringify(list));
      await alice.keyboard.press('Escape');
      await panel.waitFor({ state: 'detached' });
    });

    await step('alice imports a DiscordChatExporter export from user settings; twice adds nothing', async () => {
      // A small export as DiscordChatExporter writes it, generated here: two messages and one broken record.
      const author = (id, name) => ({ id, name, discriminator: '0000', nickname: name, color: null, isBot: false, roles: [], avatarUrl: '' });
      const record = (id, at, content, who) => ({
        id, type: 'Default', timestamp: at, timestampEdited: null, callEndedTimestamp: null, isPinned: false, content,
        author: who, attachments: [], embeds: [], stickers: [], reactions: [], mentions: [],
      });
      const exported = {
        guild: { id: '1100000000000000001', name: 'Imported Guild', iconUrl: '' },
        channel: { id: '1100000000000000002', type: 'GuildTextChat', categoryId: '', category: '', name: 'archive', topic: null },
        dateRange: { after: null, before: null },
        exportedAt: '2024-01-01T00:00:00+00:00',
        messages: [
          record('1100000000000000010', '2023-11-14T22:13:20.000+00:00', 'imported hello', author('1100000000000000100', 'dora')),
          record('1100000000000000011', '2023-11-14T22:13:21.000+00:00', 'imported reply', author('1100000000000000101', 'eli')),
          { id: 'broken' },
        ],
        messageCount: 3,
      };
      const upload = async () => {
        await alice.getByRole('button', { name: 'User settings' }).click();
        const d = alice.getByRole('dialog', { name: 'User settings' });
        await d.getByLabel('File').setInputFiles({ name: 'export.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(exported)) });
        await d.getByRole('button', { name: 'Import', exact: true }).click();
        return d;
      };
      let d = await upload();
      await d.locator('.import-result', { hasText: '2 imported, 0 already there, 1 skipped' }).waitFor();
      await d.getByText('export.json: messages[2]').waitFor();
      await alice.keyboard.press('Escape');
      await alice.getByRole('button', { name: 'Imported Guild' }).click();
      await alice.getByRole('link', { name: /archive/ }).click();
      await message(alice, 'imported hello').waitFor();
      await message(alice, 'imported reply').waitFor();
      d = await upload();
      await d.locator('.import-result', { hasText: '0 imported, 2 already there, 1 skipped' }).waitFor();
      await alice.keyboard.press('Escape');
    });

    await step('an operator exports Test Lab as an offline HTML archive; it opens from the disk with nothing fetched', async () => {
      const cliEnv = { ...env, RIFT_DATA_DIR: data, UPLOAD_DIR: join(data, 'uploads') };
      const cli = (args) => execFileSync(cliBinary(bin), args, { env: cliEnv, encoding: 'utf8' });
      const lab = JSON.parse(cli(['server', 'list', '--json'])).find((s) => s.name === 'Test Lab');
      assert(lab, 'rift server list names Test Lab');
      const out = join(data, 'archive');
      cli(['export', '--html', '--server', lab.id, '--out', out]);
      const page = await contexts[0].newPage();
      const fetched = [];
      page.on('request', (request) => fetched.push(request.url()));
      await page.goto(pathToFileURL(join(out, 'index.html')).href);
      await page.getByText('hi alice, bob here').first().waitFor();
      await page.getByText(/hello from alice zebra/).first().waitFor();
      assert((await page.locator('article').count()) > 5, 'the messages are there');
      const remote = fetched.filter((url) => !url.startsWith('file:'));
      assert(remote.length === 0, 'the archive fetches nothing: ' + remote.join(', '));
      await page.close();
    });

    assert(problems.length === 0, 'browser problems:\n' + problems.join('\n'));
    console.log(`e2e: ${steps.length} steps passed`);
  } catch (error) {
    console.log('FAILED');
    for (const [name, page] of Object.entries(pages)) {
      try {
        await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
      } catch {
        // page gone
      }
    }
    console.error(error);
    if (problems.length) console.error('browser problems:\n' + problems.join('\n'));
    console.error(`screenshots in ${artifacts}`);
    console.error('server log (tail):\n' + serverLog.join('').split('\n').slice(-30).join('\n'));
    process.exitCode = 1;
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    await discord.close();
    rmSync(data, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
