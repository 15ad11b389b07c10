#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { createStore } from '../backends/store/create-store.js';
import { backupSqlite } from '../backends/store/sqlite-store.js';
import { serve } from '../main.js';
import { Accounts } from '../core/accounts/accounts.js';
import { createMemoryRateLimiter } from '../backends/ratelimit/memory-rate-limiter.js';
import { isDomainError } from '../core/errors.js';

const USAGE = `parley — a real-time chat server

  parley serve                     start the server (same as npm start)
  parley migrate                   apply database migrations and exit
  parley user add --email E --password P --name N [--tenant UUID]
                                   create a user (prints it as JSON)
  parley backup --out FILE         online backup of the SQLite database (the server may run);
                                   on PostgreSQL, prints how to use pg_dump

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
          'and restore into an empty database with pg_restore --dbname=… parley.dump (then start Parley: it migrates if needed).',
      );
      return 2;
    }
    if (!values.out) {
      console.error('parley backup needs --out FILE');
      return 2;
    }
    const bytes = backupSqlite(config.databaseUrl, values.out);
    console.log(JSON.stringify({ backup: values.out, bytes }));
    return 0;
  }
  if (command === 'user' && sub === 'add') {
    const { values } = parseArgs({
      args: rest,
      options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, tenant: { type: 'string' } },
    });
    if (!values.email || !values.password || !values.name) {
      console.error('parley user add needs --email, --password and --name');
      return 2;
    }
    const config = loadConfig();
    const store = createStore(config.databaseUrl);
    await store.migrate();
    try {
      const accounts = new Accounts(store, { publish() {}, publishToUsers() {} }, config, createMemoryRateLimiter());
      const user = await accounts.createUser({ email: values.email, password: values.password, name: values.name, tenantUuid: values.tenant });
      console.log(JSON.stringify({ id: user.id, uuid: user.uuid, email: user.email, name: user.name, tenant_id: user.tenantUuid }));
      return 0;
    } catch (e) {
      if (isDomainError(e)) {
        console.error(`error: ${e.message === e.code ? e.code.replace(/_/g, ' ') : e.message}`);
        return 1;
      }
      throw e;
    } finally {
      await store.close();
    }
  }
  console.log(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
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
