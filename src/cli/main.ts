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
  parley backup --out DIR          online backup (the server may run) into a new directory:
                                   the SQLite database with an epoch of its own, the attachments
                                   and the generated secret; restore: DATA_DIR=DIR. Never writes
                                   over an existing DIR (exit 1). On PostgreSQL, prints how to use
                                   pg_dump
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
  if (command === 'user' && sub === 'add') {
    const { values } = parseArgs({
      args: rest,
      options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, tenant: { type: 'string' }, admin: { type: 'boolean' } },
    });
    if (!values.email || !values.password || !values.name) {
      console.error('parley user add needs --email, --password and --name');
      return 2;
    }
    return withAccounts(async ({ accounts }) => {
      const user = await accounts.createUser({
        email: values.email!,
        password: values.password!,
        name: values.name!,
        tenantUuid: values.tenant,
        tenantRole: values.admin ? 'admin' : undefined,
      });
      console.log(JSON.stringify({ id: user.id, uuid: user.uuid, email: user.email, name: user.name, tenant_id: user.tenantUuid, tenant_role: user.tenantRole }));
    });
  }
  if (command === 'user' && sub === 'reset-password') {
    const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, tenant: { type: 'string' }, password: { type: 'string' } } });
    if (!values.email) {
      console.error('parley user reset-password needs --email');
      return 2;
    }
    return withAccounts(async ({ accounts, reachesSockets }) => {
      const r = await accounts.resetPassword({ email: values.email!, tenantUuid: values.tenant, password: values.password });
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
  console.log(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

/**
 * Runs an accounts command on the configured database. With REDIS_URL, events (a revoked
 * session) reach the running servers' sockets through the same bus they listen on.
 */
async function withAccounts(fn: (deps: { accounts: Accounts; invites: Invites; reachesSockets: boolean }) => Promise<void>): Promise<number> {
  const config = loadConfig();
  const store = createStore(config.databaseUrl);
  await store.migrate();
  const bus = config.redisUrl ? await createRedisBus(config.redisUrl, { prefix: config.redisPrefix }) : null;
  const events: EventPublisher = bus ? new Hub(bus, { reorderWaitMs: config.reorderWaitMs, onError: (e) => console.error(e) }) : { publish() {}, publishToUsers() {} };
  try {
    await fn({ accounts: new Accounts(store, events, config, createMemoryRateLimiter(), createCoreLibraries(config)), invites: new Invites(store, config), reachesSockets: bus !== null });
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e) => {
    console.error(e instanceof ConfigError ? `parley: ${e.message}` : e);
    process.exit(1);
  },
);
