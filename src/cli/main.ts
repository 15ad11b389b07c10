#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { createStore } from '../backends/store/create-store.js';
import { BackupTargetExists, backupDataDir } from './backup.js';
import { serve } from '../main.js';
import { Accounts } from '../core/accounts/accounts.js';
import { createMemoryRateLimiter } from '../backends/ratelimit/memory-rate-limiter.js';
import { isDomainError } from '../core/errors.js';
import type { EventPublisher } from '../core/events.js';
import { Invites } from '../core/accounts/invites.js';
import { createRedisBus } from '../backends/bus/redis-bus.js';
import { Hub } from '../delivery/hub.js';
import { createCoreLibraries } from '../app/libraries.js';
import { Audit, auditExportLine } from '../core/audit/audit.js';
import { DEFAULT_TENANT_UUID } from '../core/model.js';
import type { Store } from '../backends/store/store.js';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createLocalDiskFileStore } from '../backends/files/local-disk-file-store.js';
import { TarPacker } from '../backends/archive/tar-packer.js';
import { Exports } from '../core/export/export.js';
import { Conversations } from '../core/conversations/conversations.js';
import { Users } from '../core/users.js';
import { Friends } from '../core/friends/friends.js';
import { RateLimits } from '../core/rate-limits.js';

const USAGE = `parley — a real-time chat server

  parley serve                     start the server (same as npm start)
  parley migrate                   apply database migrations and exit
  parley user add --email E --password P --name N [--tenant UUID] [--admin]
                                   create a user (prints it as JSON); --admin: an admin of
                                   its tenant (the tenant's first user is one anyway)
  parley user reset-password --email E [--tenant UUID] [--password P]
                                   set a new password (generated and printed when not given)
                                   and end every session of the user
  parley operator grant|revoke --email E [--tenant UUID]
                                   make the user a server operator (an admin over every
                                   tenant: lists tenants, acts in any), or no longer one
  parley invite create [--tenant UUID] [--ttl SECONDS] [--email E]
                                   an invite into the tenant (default: the default tenant;
                                   a new one is created), single use; prints its code
  parley audit verify [--tenant UUID]
                                   check the audit log's hash chain (every tenant's without
                                   --tenant): exit 0 when intact, 1 with the first changed,
                                   removed or reordered seq printed (docs/audit.md)
  parley audit export [--tenant UUID] [--after SEQ]
                                   the tenant's audit log (default: the default tenant) as
                                   JSON lines on stdout, oldest first, after SEQ if given
  parley backup --out DIR          online backup (the server may run) into a new directory:
                                   the SQLite database with an epoch of its own, the attachments
                                   and the generated secret; restore: DATA_DIR=DIR. Never writes
                                   over an existing DIR (exit 1). On PostgreSQL, prints how to use
                                   pg_dump
  parley export --user EMAIL [--tenant UUID] | --conversation ID | --tenant UUID --out FILE [--after CURSOR]
                                   a tar of a user's own data, a conversation's or a tenant's
                                   history (JSON lines + files); --after resumes after a line's cursor
  parley epoch [renew]             the history's epoch; renew: a new one, after restoring a
                                   backup, so clients' cursors of the old history resume nothing

Configuration comes from the environment (see README.md).`;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === 'serve') {
    await serve();
    return -1; // keeps running
  }
  if (command === 'migrate') {
    const config = loadConfig();
    const store = createStore(config.databaseUrl);
    await store.migrate();
    await store.close();
    console.log('migrations applied');
    return 0;
  }
  if (command === 'backup') {
    const { values } = parseArgs({ args: [sub, ...rest].filter((a) => a !== undefined), options: { out: { type: 'string' } } });
    const config = loadConfig();
    if (!/^sqlite:/.test(config.databaseUrl)) {
      console.error(
        'DATABASE_URL is PostgreSQL: back it up with pg_dump, which takes one consistent snapshot while Parley runs:\n' +
          '  pg_dump --format=custom --file=parley.dump "$DATABASE_URL"\n' +
          'and restore into an empty database with pg_restore --dbname=… parley.dump, then run `parley epoch renew` on it\n' +
          "(clients' cursors of the history it replaces then get snapshot_required) and start Parley: it migrates if needed.\n" +
          `Attachments are files: copy ${path.join(config.filesRoot, 'static')} after the dump (rsync -a), and restore them there.`,
      );
      return 2;
    }
    if (!values.out) {
      console.error('parley backup needs --out DIR (a new directory)');
      return 2;
    }
    try {
      console.log(JSON.stringify(backupDataDir(config, values.out, Boolean(process.env.JWT_SECRET))));
    } catch (e) {
      if (!(e instanceof BackupTargetExists)) throw e;
      console.error(`parley backup: ${e.message}`);
      return 1;
    }
    return 0;
  }
  if (command === 'epoch') {
    if (sub !== undefined && sub !== 'renew') {
      console.error('parley epoch [renew]');
      return 2;
    }
    const config = loadConfig();
    const store = createStore(config.databaseUrl);
    try {
      await store.migrate();
      const epoch = sub === 'renew' ? await store.renewEpoch() : await store.epoch();
      console.log(JSON.stringify({ epoch, ...(sub === 'renew' ? { note: 'restart every Parley process of this database' } : {}) }));
      return 0;
    } finally {
      await store.close();
    }
  }
  if (command === 'audit' && (sub === 'verify' || sub === 'export')) {
    const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' }, after: { type: 'string' } } });
    const after = values.after === undefined ? 0 : Number(values.after);
    if (!Number.isInteger(after) || after < 0) {
      console.error('--after must be a seq (a whole number)');
      return 2;
    }
    return withStore(async (store) => {
      const audit = new Audit(store);
      const tenant = values.tenant ?? (sub === 'export' ? DEFAULT_TENANT_UUID : undefined);
      const tenants = tenant === undefined ? await Promise.all((await store.auditTenants()).map((id) => store.tenantById(id))) : [await store.tenantByUuid(tenant.toLowerCase())];
      if (tenants.some((t) => t === undefined)) {
        console.error(`parley audit: no tenant ${tenant}`);
        return 1;
      }
      if (sub === 'export') {
        for await (const e of audit.entries(tenants[0]!.id, after)) if (!process.stdout.write(auditExportLine(e) + '\n')) await new Promise((r) => process.stdout.once('drain', r));
        return 0;
      }
      let tampered = false;
      for (const t of tenants) {
        const v = await audit.verify(t!.id);
        console.log(JSON.stringify({ tenant_id: t!.uuid, ok: v.ok, checked: v.checked, ...(v.firstBad ? { first_bad: v.firstBad } : {}) }));
        if (v.firstBad) console.error(`tenant ${t!.uuid}: audit entry ${v.firstBad.seq} ${v.firstBad.problem}`);
        tampered ||= !v.ok;
      }
      return tampered ? 1 : 0;
    });
  }
  if (command === 'user' && sub === 'add') {
    const { values } = parseArgs({
      args: rest,
      options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, tenant: { type: 'string' }, admin: { type: 'boolean' } },
    });
    if (!values.email || !values.password || !values.name) {
      console.error('parley user add needs --email, --password and --name');
      return 2;
    }
    return withAccounts(async ({ accounts, audit }) => {
      const user = await accounts.createUser({
        email: values.email!,
        password: values.password!,
        name: values.name!,
        tenantUuid: values.tenant,
        tenantRole: values.admin ? 'admin' : undefined,
      });
      await audit.record({ tenantId: user.tenantId, actorId: null, action: 'user.add', targetType: 'user', targetId: String(user.id), origin: 'cli', details: { email: user.email, tenant_role: user.tenantRole } });
      console.log(JSON.stringify({ id: user.id, uuid: user.uuid, email: user.email, name: user.name, tenant_id: user.tenantUuid, tenant_role: user.tenantRole }));
    });
  }
  if (command === 'user' && sub === 'reset-password') {
    const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, tenant: { type: 'string' }, password: { type: 'string' } } });
    if (!values.email) {
      console.error('parley user reset-password needs --email');
      return 2;
    }
    return withAccounts(async ({ accounts, audit, reachesSockets }) => {
      const r = await accounts.resetPassword({ email: values.email!, tenantUuid: values.tenant, password: values.password }, (user, generated) => ({
        tenantId: user.tenantId, actorId: null, action: 'user.reset_password', targetType: 'user', targetId: String(user.id), origin: 'cli', details: { generated },
      }));
      console.log(JSON.stringify({ id: r.user.id, email: r.user.email, tenant_id: r.user.tenantUuid, ...(r.generated ? { password: r.password } : {}), sessions_revoked: true }));
      if (!reachesSockets) {
        console.error('note: tokens are revoked; sockets already open on a server stay open until they reconnect (set REDIS_URL as the server has it to close them now)');
      }
    });
  }
  if (command === 'operator' && (sub === 'grant' || sub === 'revoke')) {
    const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, tenant: { type: 'string' } } });
    if (!values.email) {
      console.error(`parley operator ${sub} needs --email`);
      return 2;
    }
    return withAccounts(async ({ accounts }) => {
      const user = await accounts.setOperator({ email: values.email!, tenantUuid: values.tenant }, sub === 'grant');
      console.log(JSON.stringify({ id: user.id, email: user.email, tenant_id: user.tenantUuid, is_operator: user.isOperator }));
    });
  }
  if (command === 'invite' && sub === 'create') {
    const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' }, ttl: { type: 'string' }, email: { type: 'string' } } });
    const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
    if (ttl !== undefined && !Number.isInteger(ttl)) {
      console.error('--ttl must be a whole number of seconds');
      return 2;
    }
    return withAccounts(async ({ invites }) => {
      const { invite, code } = await invites.createForTenant(values.tenant, { ttlSeconds: ttl, email: values.email });
      console.log(JSON.stringify({ code, id: invite.uuid, tenant_id: invite.tenantUuid, email: invite.email, expires_at: new Date(invite.expiresAt).toISOString() }));
    });
  }
  if (command === 'export') {
    const { values } = parseArgs({ args: [sub, ...rest].filter((a) => a !== undefined), options: { user: { type: 'string' }, conversation: { type: 'string' }, tenant: { type: 'string' }, out: { type: 'string' }, after: { type: 'string' } } });
    if (!values.out || (!values.user && !values.conversation && !values.tenant)) {
      console.error('parley export needs --out and one of --user EMAIL, --conversation ID, --tenant UUID');
      return 2;
    }
    return exportArchive({ user: values.user, conversation: values.conversation, tenant: values.tenant, after: values.after }, values.out);
  }
  console.log(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

/**
 * Runs an accounts command on the configured database. With REDIS_URL, events (a revoked
 * session) reach the running servers' sockets through the same bus they listen on.
 */
async function withAccounts(fn: (deps: { accounts: Accounts; invites: Invites; audit: Audit; reachesSockets: boolean }) => Promise<void>): Promise<number> {
  const config = loadConfig();
  const store = createStore(config.databaseUrl);
  await store.migrate();
  const bus = config.redisUrl ? await createRedisBus(config.redisUrl, { prefix: config.redisPrefix }) : null;
  const events: EventPublisher = bus ? new Hub(bus, { reorderWaitMs: config.reorderWaitMs, onError: (e) => console.error(e) }) : { publish() {}, publishToUsers() {} };
  try {
    const audit = new Audit(store);
    const accounts = new Accounts(store, events, config, createMemoryRateLimiter(), createCoreLibraries(config));
    // Its actions (operator grant/revoke) append their entries in their own transactions.
    accounts.audit = audit;
    await fn({ accounts, invites: new Invites(store, config, audit), audit, reachesSockets: bus !== null });
    await bus?.flush();
    return 0;
  } catch (e) {
    if (isDomainError(e)) {
      console.error(`error: ${e.message === e.code ? e.code.replace(/_/g, ' ') : e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await bus?.close();
    await store.close();
  }
}

/** Runs `fn` on the configured database (migrated), closed after; its result is the exit code. */
async function withStore(fn: (store: Store) => Promise<number>): Promise<number> {
  const store = createStore(loadConfig().databaseUrl);
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `parley export`: the operator's archive (no one's view, no rate limit) written to `out`. */
async function exportArchive(what: { user?: string; conversation?: string; tenant?: string; after?: string }, out: string): Promise<number> {
  const config = loadConfig();
  return withStore(async (store) => {
    const users = new Users(store);
    const events: EventPublisher = { publish() {}, publishToUsers() {} };
    const exports = new Exports(store, new Conversations(store, users, new Friends(store, users), events), createLocalDiskFileStore(config.filesRoot), new RateLimits(createMemoryRateLimiter(), config), new TarPacker(), new Audit(store));
    const tenant = what.tenant ? await store.tenantByUuid(what.tenant) : undefined;
    if (what.tenant && !tenant) return fail(`no tenant ${what.tenant}`);
    let target: Parameters<Exports['operatorArchive']>[0];
    if (what.user) {
      const user = await store.userByEmail((tenant ?? (await store.defaultTenant())).id, what.user);
      if (!user) return fail(`no user ${what.user}`);
      target = { user };
    } else if (what.conversation) {
      const c = await store.conversationById(Number(what.conversation));
      if (!c) return fail(`no conversation ${what.conversation}`);
      target = { conversationId: c.id };
    } else target = { tenantId: tenant!.id };
    await pipeline(exports.operatorArchive(target, what.after), createWriteStream(out, { flags: 'wx' }));
    return 0;
  });
}

function fail(message: string): number {
  console.error(`error: ${message}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e) => {
    console.error(e instanceof ConfigError ? `parley: ${e.message}` : e);
    process.exit(1);
  },
);
