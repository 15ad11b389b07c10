import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import webpush from 'web-push';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, newVapidKeys } from '../../src/config/config.js';

// The server's VAPID key signs every Web Push. ECDH hands out the private scalar without its
// leading zero bytes (1 key in 256 is 31 bytes long), and web-push refuses any key that is not
// 32 bytes: a server that drew such a key never delivered a push (CI saw a run without any).

/** What web-push does with the key at each push: it throws on a key it refuses. */
function signsAPush(keys: { publicKey: string; privateKey: string }): boolean {
  const device = createECDH('prime256v1');
  device.generateKeys();
  webpush.generateRequestDetails(
    { endpoint: 'https://push.example/x', keys: { p256dh: device.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') } },
    'hi',
    { vapidDetails: { subject: 'mailto:admin@localhost', ...keys }, contentEncoding: 'aes128gcm' },
  );
  return true;
}

/** A pair whose private key ECDH gives short (its scalar begins with a zero byte). */
function shortPair(): { publicKey: string; privateKey: string } {
  for (;;) {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    if (ecdh.getPrivateKey().length < 32) return { publicKey: ecdh.getPublicKey('base64url', 'uncompressed'), privateKey: ecdh.getPrivateKey('base64url') };
  }
}

describe('VAPID keys', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dataDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'parley-vapid-'));
    dirs.push(d);
    return d;
  };

  it('every generated pair has a 32-byte private key that web-push signs with (3,000 pairs, about 12 would have been short)', () => {
    for (let i = 0; i < 3000; i++) {
      const keys = newVapidKeys();
      expect(Buffer.from(keys.privateKey, 'base64url')).toHaveLength(32);
      expect(Buffer.from(keys.publicKey, 'base64url')).toHaveLength(65);
      if (i % 100 === 0) expect(signsAPush(keys)).toBe(true);
    }
  });

  it('a short key, from a file written before or from VAPID_PRIVATE_KEY, is used padded: the same key, accepted', () => {
    const short = shortPair();
    expect(() => signsAPush(short)).toThrow(/32 bytes/);
    const fromFile = dataDir();
    writeFileSync(path.join(fromFile, 'vapid-keys.json'), JSON.stringify(short) + '\n', { mode: 0o600 });
    const env = { DATABASE_URL: 'sqlite::memory:', JWT_SECRET: 'x'.repeat(48) };
    for (const config of [loadConfig({ ...env, DATA_DIR: fromFile }), loadConfig({ ...env, DATA_DIR: dataDir(), VAPID_PUBLIC_KEY: short.publicKey, VAPID_PRIVATE_KEY: short.privateKey })]) {
      const padded = Buffer.from(config.notify.vapidPrivateKey, 'base64url');
      expect(padded).toHaveLength(32);
      expect(padded.subarray(32 - Buffer.from(short.privateKey, 'base64url').length)).toEqual(Buffer.from(short.privateKey, 'base64url'));
      expect(config.notify.vapidPublicKey).toBe(short.publicKey);
      expect(signsAPush({ publicKey: config.notify.vapidPublicKey, privateKey: config.notify.vapidPrivateKey })).toBe(true);
      // The padded scalar is the same private key: it derives the same public key.
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(padded);
      expect(ecdh.getPublicKey('base64url', 'uncompressed')).toBe(short.publicKey);
    }
  });

  it('a VAPID key set to something else stops the start with a clear error, instead of failing every push', () => {
    const env = { DATABASE_URL: 'sqlite::memory:', JWT_SECRET: 'x'.repeat(48), DATA_DIR: dataDir() };
    const good = newVapidKeys();
    const cases: [Record<string, string>, RegExp][] = [
      [{ VAPID_PUBLIC_KEY: good.publicKey, VAPID_PRIVATE_KEY: randomBytes(33).toString('base64url') }, /VAPID_PRIVATE_KEY/],
      [{ VAPID_PUBLIC_KEY: good.publicKey, VAPID_PRIVATE_KEY: '***' }, /VAPID_PRIVATE_KEY/],
      [{ VAPID_PUBLIC_KEY: good.privateKey, VAPID_PRIVATE_KEY: good.privateKey }, /VAPID_PUBLIC_KEY/],
    ];
    for (const [keys, message] of cases) {
      expect(() => loadConfig({ ...env, ...keys })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, ...keys })).toThrow(message);
    }
    expect(loadConfig({ ...env, VAPID_PUBLIC_KEY: good.publicKey, VAPID_PRIVATE_KEY: good.privateKey }).notify.vapidPrivateKey).toBe(good.privateKey);
  });
});
