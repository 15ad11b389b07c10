import { ConfigError, loadConfig } from './config/config.js';
import { createParley } from './app/app.js';
import { startBanner } from './app/start-banner.js';

/** `npm start`: config → migrate → listen → drain on SIGTERM. */
export async function serve(): Promise<void> {
  const config = loadConfig();
  const parley = await createParley(config);
  const address = await parley.listen();
  // PORT=0 binds a free port: show the one bound.
  const baseUrl = config.port === 0 ? config.publicUrl.replace(/:0$/, ':' + new URL(address).port) : config.publicUrl;
  process.stderr.write(startBanner(config, baseUrl, Boolean(process.env.JWT_SECRET)));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    parley.app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    parley.close().then(
      () => process.exit(0),
      (e) => {
        parley.app.log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `node dist/main.js` and `npm start` (scripts/start.mjs, in the same process). */
export function runServer(): void {
  serve().catch((e) => {
    // A refused setting is the operator's to fix: its message, without a stack trace.
    console.error(e instanceof ConfigError ? `parley: ${e.message}` : e);
    process.exit(1);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) runServer();
