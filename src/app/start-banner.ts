import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { WEB_ROOT } from '../http/web.js';

const REGISTRATION_MEANING: Record<Config['registration'], string> = {
  'default-tenant': 'anyone may register into the default tenant or a new one; an existing tenant only with an invite',
  invite: 'only with an invite (`parley invite create`)',
  closed: 'nobody registers: the identity provider or `parley user add` creates users',
  open: 'anyone into any tenant: for development and test suites only',
};

/** A database URL as it may be shown: the password left out. */
export function shownDatabase(databaseUrl: string): string {
  if (databaseUrl.startsWith('sqlite:')) return `SQLite, ${path.resolve(databaseUrl.replace(/^sqlite:(\/\/(?=\/))?/, ''))}`;
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return `PostgreSQL, ${url.toString()}`;
  } catch {
    return 'PostgreSQL';
  }
}

/**
 * What a newcomer needs after `npm start`, in plain words: where to open the chat and the
 * API docs, where the data and the generated secret are, which database, who may register.
 * Written once to stderr, so stdout stays one JSON log record per line.
 */
export function startBanner(config: Config, baseUrl: string, secretFromEnvironment: boolean): string {
  const webBuilt = existsSync(path.join(config.webDir ?? WEB_ROOT, 'index.html'));
  const lines: [string, string][] = [
    ['web client', webBuilt ? `${baseUrl}/` : `not built (run \`npm run build\`); the API is at ${baseUrl}/api/`],
    ['API docs', `${baseUrl}/docs (OpenAPI), ${baseUrl}/docs/asyncapi.json (sockets)`],
    ['data', `${config.dataDir} (attachments under ${path.join(config.filesRoot, 'static', 'chat_files')})`],
    ['secret', secretFromEnvironment ? 'JWT_SECRET from the environment' : `${path.join(config.dataDir, 'jwt-secret')} (generated once, mode 0600: keep it, and back it up with the data)`],
    ['database', shownDatabase(config.databaseUrl)],
    ['events', config.redisUrl ? 'Redis: several processes act as one server' : 'in this process (set REDIS_URL to run several)'],
    ['registration', `${config.registration}: ${REGISTRATION_MEANING[config.registration]}`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return ['Parley is running.', ...lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`), 'Stop it with Ctrl-C; every setting is an environment variable (README.md, "Configuration").', ''].join('\n');
}
