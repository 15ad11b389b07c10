// CPU of the services a Parley target uses besides its own processes, over the measured
// window: the PostgreSQL backends serving the scratch database (found in pg_stat_activity,
// looked up again every 250 ms because the pool opens connections on demand) and the Redis
// server (its pid from INFO server). Both must run on this machine for /proc to see them;
// otherwise the figure is null. The Redis server is shared: whatever else uses it during the
// window is counted too.
import pg from 'pg';
import { Redis } from 'ioredis';
import { cpuSeconds } from './proc.js';

export interface AuxCpuResult {
  /** Cores used by the PostgreSQL backends of the scratch database (null: none found / not local). */
  pgCores: number | null;
  /** Cores used by the Redis server (null: not used / not local). */
  redisCores: number | null;
  /** PUBLISH commands Redis served per second (INFO commandstats; every client of the server counts). */
  redisPublishesPerSec: number | null;
}

/** Started at the window's start, stopped at its end (see Load.run). */
export interface AuxSampler {
  begin(): void;
  end(seconds: number): Promise<AuxCpuResult>;
}

export class AuxCpu implements AuxSampler {
  #pg: pg.Client | null = null;
  #redis: Redis | null = null;
  #redisPid: number | null = null;
  #publishes0: Promise<number | null> = Promise.resolve(null);
  /** pid -> [cpu at first sight, cpu at last sight] */
  #backends = new Map<number, [number, number]>();
  #redis0: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<void> = Promise.resolve();

  private constructor(
    readonly dbName: string | null,
    readonly adminUrl: string,
  ) {}

  /** `dbName` null: no PostgreSQL; `redisUrl` null: no Redis. */
  static async open(dbName: string | null, adminUrl: string, redisUrl: string | null): Promise<AuxCpu> {
    const a = new AuxCpu(dbName, adminUrl);
    if (dbName) {
      a.#pg = new pg.Client({ connectionString: adminUrl });
      await a.#pg.connect();
    }
    if (redisUrl) {
      const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await r.connect();
        a.#redis = r;
        const m = /process_id:(\d+)/.exec(await r.info('server'));
        const pid = m ? Number(m[1]) : null;
        if (pid !== null && cpuSeconds(pid) !== null) a.#redisPid = pid;
      } catch {
        r.disconnect(); // no figures
      }
    }
    return a;
  }

  async #poll(): Promise<void> {
    if (!this.#pg) return;
    const { rows } = await this.#pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [this.dbName]);
    const seen = new Set<number>();
    for (const { pid } of rows) {
      seen.add(pid);
      const s = cpuSeconds(pid);
      if (s === null) continue;
      const cur = this.#backends.get(pid);
      if (cur) cur[1] = s;
      else this.#backends.set(pid, [s, s]);
    }
    // a backend that left keeps its last reading
    for (const [pid, v] of this.#backends) {
      if (seen.has(pid)) continue;
      const s = cpuSeconds(pid);
      if (s !== null && s >= v[1]) v[1] = s;
    }
  }

  async #publishes(): Promise<number | null> {
    if (!this.#redis) return null;
    try {
      const m = /cmdstat_publish:calls=(\d+)/.exec(await this.#redis.info('commandstats'));
      return m ? Number(m[1]) : 0;
    } catch {
      return null;
    }
  }

  begin(): void {
    this.#backends.clear();
    this.#publishes0 = this.#publishes();
    this.#redis0 = this.#redisPid === null ? null : cpuSeconds(this.#redisPid);
    const tick = () => {
      this.#polling = this.#polling.then(() => this.#poll()).catch(() => {});
    };
    tick();
    this.#timer = setInterval(tick, 250);
  }

  async end(seconds: number): Promise<AuxCpuResult> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const redis1 = this.#redisPid === null ? null : cpuSeconds(this.#redisPid);
    const [p0, p1] = await Promise.all([this.#publishes0, this.#publishes()]);
    await this.#polling;
    await this.#poll().catch(() => {});
    let pgSum = 0;
    for (const [a, b] of this.#backends.values()) pgSum += b - a;
    return {
      pgCores: this.#pg && this.#backends.size > 0 ? pgSum / seconds : null,
      redisCores: this.#redis0 !== null && redis1 !== null ? (redis1 - this.#redis0) / seconds : null,
      redisPublishesPerSec: p0 !== null && p1 !== null ? (p1 - p0) / seconds : null,
    };
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#polling;
    await this.#pg?.end().catch(() => {});
    this.#pg = null;
    this.#redis?.disconnect();
    this.#redis = null;
  }
}
