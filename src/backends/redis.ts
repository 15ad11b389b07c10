import { Redis, type RedisOptions } from 'ioredis';

/** What the Redis backends report that no caller is waiting for (lost connections, bad frames). */
export type RedisErrorListener = (error: Error) => void;

export interface RedisBackendOptions {
  /** Put before every key and channel, so several deployments (or tests) share one Redis. */
  prefix?: string;
  /** Defaults to console.error, as ioredis itself does when nobody listens. */
  onError?: RedisErrorListener;
}

const defaultOnError: RedisErrorListener = (e) => console.error(`[parley redis] ${e.message}`);

/**
 * Opens a connection and waits until it is ready, so a REDIS_URL whose server does not answer
 * fails start-up instead of queueing commands forever. After that ioredis reconnects by itself
 * (backoff up to 2 s); each backend decides what its calls do meanwhile.
 */
export async function openRedis(url: string, name: string, onError: RedisErrorListener | undefined, options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    ...options,
  });
  redis.on('error', onError ?? defaultOnError);
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new Error(`REDIS_URL is set but Redis does not answer: ${(e as Error).message}`);
  }
  return redis;
}

/** QUIT when connected (replies already sent still arrive), else just drop the socket. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through
    }
  }
  redis.disconnect();
}

/** Current time in ms on the Redis server, for scripts: one clock for every process. */
export const LUA_NOW = `local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)`;

export { defaultOnError };
