// The server of `npm run bench:typing`, in a process of its own so its CPU is its own:
//   node --import tsx bench/lib/typing-server.ts <parley checkout> <members> <typing ttl ms>
// Starts the checkout's Parley on SQLite in a scratch directory, seeds one document-003 group
// of `members` users (one registered over HTTP for the tenant, the rest through the Store,
// which old and new checkouts share: no password hashing), and prints one line
// `READY {"url","tenant","conversation","tokens"}`. Runs until SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, membersArg, ttlArg] = process.argv.slice(2);
const members = Number(membersArg);

const dir = mkdtempSync(path.join(tmpdir(), 'parley-typing-'));
const { loadConfig } = await import(pathToFileURL(path.join(root, 'src/config/config.ts')).href);
const { createParley } = await import(pathToFileURL(path.join(root, 'src/app/app.ts')).href);
const config = loadConfig({
  DATA_DIR: dir,
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: `sqlite:${path.join(dir, 'parley.db')}`,
  JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-tokens',
  REGISTRATION: 'open',
  LOG_LEVEL: 'silent',
  TYPING_TTL_MS: ttlArg,
  RATE_USER_MESSAGES_PER_SECOND: '0',
  RATE_REST_WRITES_PER_SECOND: '0',
  RATE_USER_READS_PER_SECOND: '0',
  RATE_CONNECTION_FRAMES_PER_SECOND: '0',
  // Every member's socket comes from this one address.
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
  WS_MAX_UNAUTHENTICATED_PER_ADDRESS: '0',
});
const parley = await createParley(config, { logger: false });
const url: string = (await parley.listen()).replace('localhost', '127.0.0.1');

const tag = Date.now().toString(36);
const reg = await fetch(`${url}/api/auth/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: `owner-${tag}@example.com`, password: 'password-123456', name: 'Member 0' }),
});
if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
const owner = await parley.store.userById(((await reg.json()) as { user: { id: number } }).user.id);
const users = [owner];
for (let i = 1; i < members; i++) users.push(await parley.store.createUser({ tenantId: owner.tenantId, email: `m${i}-${tag}@example.com`, name: `Member ${i}` }));
const conversation = await parley.store.createConversation(
  {
    tenantId: owner.tenantId,
    kind: 'group',
    title: 'Typing bench',
    createdBy: owner.id,
    participants: users.map((u, i) => ({ userId: u.id, role: i === 0 ? 'admin' : 'member' })),
  },
  Date.now(),
);
const tokens: string[] = [];
for (const u of users) tokens.push(await parley.core.accounts.tokens.issue(u));
process.stdout.write(`READY ${JSON.stringify({ url, tenant: owner.tenantUuid, conversation: conversation.uuid, tokens })}\n`);

process.on('SIGTERM', () => {
  void parley
    .close()
    .catch(() => {})
    .finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
});
