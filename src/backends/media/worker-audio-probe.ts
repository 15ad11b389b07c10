import { Worker } from 'node:worker_threads';
import type { AudioInput, AudioProbe, AudioProbeResult } from '../../core/files/ports.js';

// music-metadata runs in JavaScript and, on a malformed stream, resyncs byte by byte: 1 MB of
// 0xFF after an MP3 frame header took 4 s of CPU from memory and 39 s from a file (the
// tokenizer reads a few bytes per system call), 50 MB about 200 s. So it runs in a worker
// thread, off the event loop, streaming the file in 1 MiB chunks, and is terminated at the
// deadline: no input can take more than MEDIA_TIMEOUT_MS of one core.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createReadStream } = require('node:fs');
const mm = import(workerData.musicMetadata);
parentPort.on('message', async (job) => {
  let duration = null;
  try {
    const { parseBuffer, parseStream } = await mm;
    const options = { duration: true, skipCovers: true };
    const result = job.bytes
      ? await parseBuffer(job.bytes, { mimeType: job.mime, size: job.bytes.length }, options)
      : await parseStream(createReadStream(job.path, { highWaterMark: 1 << 20 }), { mimeType: job.mime, size: job.size }, options);
    duration = result.format.duration ?? null;
  } catch {
    duration = null;
  }
  parentPort.postMessage({ id: job.id, duration });
});
`;

/**
 * Measures audio durations in worker threads, one job per worker at a time (the caller
 * bounds how many run at once: MediaPool). A worker that misses the deadline, dies or runs
 * out of its heap is terminated and replaced by a new one on the next job.
 */
export class WorkerAudioProbe implements AudioProbe {
  readonly #idle: Worker[] = [];
  readonly #busy = new Set<Worker>();
  #next = 0;
  #closed = false;

  constructor(readonly timeoutMs: number) {}

  #spawn(): Worker {
    const w = new Worker(SOURCE, {
      eval: true,
      workerData: { musicMetadata: import.meta.resolve('music-metadata') },
      // A parser that tries to build a huge structure in JavaScript dies alone.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    w.unref();
    // An idle worker that dies is dropped, not handed the next job; its error is no crash here.
    w.on('error', () => {});
    w.on('exit', () => {
      const i = this.#idle.indexOf(w);
      if (i >= 0) this.#idle.splice(i, 1);
    });
    return w;
  }

  duration(input: AudioInput, mime: string): Promise<AudioProbeResult> {
    if (this.#closed) return Promise.reject(new Error('WorkerAudioProbe is closed'));
    const w = this.#idle.pop() ?? this.#spawn();
    this.#busy.add(w);
    const id = ++this.#next;
    return new Promise<AudioProbeResult>((resolve) => {
      const finish = (result: AudioProbeResult, reusable: boolean) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onGone);
        w.off('exit', onGone);
        this.#busy.delete(w);
        if (reusable && !this.#closed) this.#idle.push(w);
        else void w.terminate();
        resolve(result);
      };
      const onMessage = (m: { id: number; duration: number | null }) => {
        if (m.id === id) finish(m.duration, true);
      };
      const onGone = () => finish(null, false);
      const timer = setTimeout(() => finish('timeout', false), this.timeoutMs);
      w.on('message', onMessage);
      w.once('error', onGone);
      w.once('exit', onGone);
      // Bytes are copied into the worker; the caller keeps its own (it writes them next).
      w.postMessage('bytes' in input ? { id, mime, bytes: input.bytes } : { id, mime, path: input.path, size: input.size });
    });
  }

  /** Workers alive now (idle or busy): tests check that a timed-out one was replaced, not leaked. */
  get workers(): number {
    return this.#idle.length + this.#busy.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#idle.splice(0), ...this.#busy].map((w) => w.terminate()));
  }
}
