import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startParley, type TestServer } from '../helpers/parley.js';
import { eventually, newRoom, newUser } from '../helpers/clients.js';

// Secrets in URLs never reach the logs: tokens however their parameter name is spelled (the
// query parser decodes `%74oken` to `token`, so the server uses it), and the signature and
// expiry of signed file links (a signed link is a capability until it expires).

describe('log redaction, read from the pino output of a real server', () => {
  let server: TestServer;
  const lines: string[] = [];
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    server = await startParley({ env: { LOG_LEVEL: 'info' }, logger: { stream } });
  });
  afterAll(() => server.close());

  const loggedUrls = () => lines.map((l) => JSON.parse(l)).filter((e) => e.req?.url).map((e) => e.req.url as string);

  it.each([
    ['?token=', '/api/auth/me?token='],
    ['percent-encoded name ?%74oken=', '/api/auth/me?%74oken='],
    ['percent-encoded name ?tok%65n=', '/api/auth/me?a=1&tok%65n='],
    ['upper case ?TOKEN=', '/api/auth/me?TOKEN='],
    ['access_token', '/api/auth/me?access%5Ftoken='],
    ['a token after another parameter', '/api/auth/me?to+ken=1&token='],
    ['a repeated name', '/api/auth/me?token=x&token='],
    ['a socket handshake', '/api/chat/ws?room_id=1&%54%4F%4B%45%4E='],
  ])('%s is redacted', async (_name, path) => {
    const secret = `s3cr3t${Math.random().toString(36).slice(2)}`;
    await fetch(server.url + path + secret).then((r) => r.arrayBuffer());
    await eventually(() => expect(loggedUrls().some((u) => u.startsWith(path.slice(0, path.indexOf('?'))) && u.includes('[redacted]'))).toBe(true));
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('the signature and expiry of a signed file link are redacted; the path stays', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    await newRoom(server, a, b);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#3366ff' } }).png().toBuffer();
    const form = new FormData();
    form.append('message_type', 'image');
    form.append('files', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'dot.png');
    const up = await fetch(`${server.url}/api/chat/upload-files`, { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form });
    expect(up.status).toBe(200);
    const link = new URL(((await up.json()) as { files: { file_url: string }[] }).files[0].file_url);
    const sig = link.searchParams.get('sig')!;
    const exp = link.searchParams.get('exp')!;
    expect((await fetch(link)).status).toBe(200);
    // The same link with its parameter names spelled another way is refused, and still not logged.
    await fetch(`${server.url}${link.pathname}?%73ig=${sig}&%65xp=${exp}`).then((r) => r.arrayBuffer());
    await eventually(() => expect(loggedUrls().filter((u) => u.startsWith(link.pathname)).length).toBe(2));
    const logged = loggedUrls().filter((u) => u.startsWith(link.pathname));
    expect(logged[0]).toBe(`${link.pathname}?exp=[redacted]&sig=[redacted]`);
    const all = lines.join('\n');
    expect(all).not.toContain(sig);
    expect(all).not.toContain(exp);
    // Nothing else leaked on the way: no bearer token either.
    expect(all).not.toContain(a.token);
  });
});
