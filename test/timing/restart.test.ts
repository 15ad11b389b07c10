import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCommand as start } from '../helpers/started-command.js';

// Timed alone (vitest project "timing", after the rest): on a machine busy with other test
// files a start-up measures the load, not Parley.
describe('npm start of a built server', () => {
  it('builds once: a restart of a built server answers /healthz in under 2 s, and says in words where everything is', async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'parley-restart-')), 'data');
    const env = { DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', JWT_SECRET: '' };
    const first = await start('npm', ['start', '--silent'], env); // builds if the sources changed
    first.stop();
    await first.exited;

    const began = Date.now();
    const second = await start('npm', ['start', '--silent'], env);
    const restartMs = Date.now() - began;
    console.log(`restart of a built server (npm start → /healthz answers): ${restartMs} ms`);
    expect(second.output()).not.toMatch(/building/);
    expect(restartMs).toBeLessThan(2000);

    // The words a newcomer reads, once, next to the JSON logs.
    await expect.poll(() => second.output()).toMatch(/Parley is running\./);
    const banner = second.output();
    expect(banner.match(/Parley is running\./g)).toHaveLength(1);
    expect(banner).toContain(`web client    ${second.url}/`);
    expect(banner).toContain(`API docs      ${second.url}/docs`);
    expect(banner).toContain(`data          ${dataDir}`);
    expect(banner).toContain(`secret        ${path.join(dataDir, 'jwt-secret')} (generated once, mode 0600`);
    expect(banner).toContain(`database      SQLite, ${path.join(dataDir, 'parley.db')}`);
    expect(banner).toMatch(/registration  default-tenant: anyone may register/);
    const docs = await fetch(second.url + '/docs');
    expect(docs.status).toBe(200);
    second.stop();
    await second.exited;
  }, 180_000);

});
