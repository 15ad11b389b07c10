import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startParley, type TestServer } from '../helpers/parley.js';

// The web page and /docs carry a Content-Security-Policy (scripts only from the server
// itself, no plugins, no <base>, sockets only to this host) that also forbids framing
// (`frame-ancestors 'none'`, and X-Frame-Options for browsers older than CSP 2), so a page
// elsewhere can neither inject script nor frame the chat to click through it. The browser
// half (the page still works under it) is test/e2e/web/chat.test.ts.

/** The directives of a policy, by name. */
function directives(csp: string | null): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of (csp ?? '').split(';')) {
    const [name, ...values] = d.trim().split(/\s+/);
    if (name) out[name] = values;
  }
  return out;
}

describe('Content-Security-Policy and framing', () => {
  let server: TestServer;
  let webDir: string;
  beforeAll(async () => {
    webDir = mkdtempSync(path.join(tmpdir(), 'parley-page-'));
    mkdirSync(path.join(webDir, 'assets'));
    writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>p</title><script type="module" src="/assets/app.js"></script>');
    writeFileSync(path.join(webDir, 'assets', 'app.js'), 'console.log(1)');
    server = await startParley({ env: { WEB_DIR: webDir, PUBLIC_URL: 'https://files.example.com' } });
  });
  afterAll(async () => {
    await server.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  it.each(['/', '/index.html'])('the web page %s: scripts only from itself, no framing, files from PUBLIC_URL', async (p) => {
    const res = await fetch(server.url + p);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const csp = directives(res.headers.get('content-security-policy'));
    const host = new URL(server.url).host;
    expect(csp).toMatchObject({
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'frame-ancestors': ["'none'"],
      'form-action': ["'self'"],
    });
    expect(csp['connect-src']).toEqual(["'self'", `ws://${host}`, `wss://${host}`]);
    // Attachments are links on PUBLIC_URL (signed); previews of files being sent are blob: URLs.
    expect(csp['img-src']).toEqual(expect.arrayContaining(["'self'", 'https://files.example.com', 'blob:']));
    expect(csp['media-src']).toEqual(expect.arrayContaining(["'self'", 'https://files.example.com', 'blob:']));
    // No inline style either: the page sets styles through the DOM, which a policy allows.
    expect(csp['style-src']).toEqual(["'self'"]);
  });

  it('/docs: its own policy, no framing either', async () => {
    const res = await fetch(server.url + '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const csp = directives(res.headers.get('content-security-policy'));
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['object-src']).toEqual(["'none'"]);
  });
});
