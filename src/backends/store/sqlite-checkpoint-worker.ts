// The Checkpointer's thread (sqlite-store.ts): its own connection to the database file runs
// `wal_checkpoint(PASSIVE)` every `intervalMs` and reports how many frames the WAL holds;
// 'now' asks for one checkpoint at once, anything else closes the connection and the thread.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
}

/** What the thread posts after each checkpoint: WAL frames (`log`); `now` answers a 'now'. */
export interface CheckpointReport {
  log: number;
  now?: boolean;
}

const port = parentPort!;
const { file, intervalMs } = workerData as CheckpointWorkerData;
const db = new Database(file);

const checkpoint = (): CheckpointReport => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointReport[];
    return { log: result.log };
  } catch {
    return { log: 0 }; // busy or gone: the next tick tries again
  }
};

const timer = setInterval(() => port.postMessage(checkpoint()), intervalMs);
port.on('message', (m: unknown) => {
  if (m === 'now') return port.postMessage({ ...checkpoint(), now: true } satisfies CheckpointReport);
  clearInterval(timer);
  checkpoint();
  db.close();
  port.close();
});
