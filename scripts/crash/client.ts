import WebSocket from 'ws';

// One chat client of a crash run: a user following one room on /api/chat/ws of the single
// Parley process, sending text and file messages, recording every ack. Modelled on
// scripts/fault/client.ts (resume with the highest seq seen, a ping answered means the replay
// is complete, then every unacknowledged message goes again with the same local_temp_id),
// plus files: some messages name a file uploaded first (POST /api/chat/upload-files, then
// `files_data: [{ file_path }]`), some carry it inline as base64. It never repairs what the
// server does wrong: the check (check.ts) judges the database afterwards.

export type SendKind = 'text' | 'upload' | 'inline';

export interface Sent {
  tempId: string;
  kind: SendKind;
  roomId: number;
  senderId: number;
  firstSentAt: number;
  /** Frames sent (1 + retries). */
  attempts: number;
  /** Upload requests made for it (kind 'upload'). */
  uploads: number;
  /** The key upload-files returned (kind 'upload'), once it answered. */
  filePath: string | null;
  uploading: boolean;
  ackedAt: number | null;
  /** From the ack: the message id, its seq, and how many files it carried. */
  id: number | null;
  seq: number | null;
  ackFiles: number;
  ackVia: 'live' | 'replay' | 'rest' | null;
  /** Error frames that named it. */
  errors: string[];
  /** Given up after too many error frames. */
  failed: boolean;
}

export interface ClientDeps {
  port: () => number;
  rng: () => number;
  now: () => number;
  runTag: string;
  /** Share of new messages that carry a file (half uploaded first, half inline). */
  fileShare: number;
  /**
   * 'seq': reconnect with last_seq (the resume replay acknowledges what was stored); 'none':
   * like the documents' own clients, without it, so every unacknowledged message is sent
   * again and a stored one must come back as the original (docs/delivery.md 3).
   */
  resume: 'seq' | 'none';
  log: (line: string) => void;
}

export interface ClientUser {
  index: number;
  id: number;
  token: string;
}

const RESUME_TIMEOUT_MS = 15_000;
const MAX_IN_FLIGHT = 200;
const MAX_ERRORS = 20;

/** A small valid PDF (typed by its bytes); `tag` makes each one distinct. */
export function pdf(tag: string, size = 1500): Buffer {
  const head = Buffer.from(`%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Tag (${tag}) >>\nendobj\n2 0 obj\n<< /Length 0 >>\nstream\n`, 'latin1');
  const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1');
  const pad = Buffer.alloc(Math.max(0, size - head.length - tail.length), 0x20);
  return Buffer.concat([head, pad, tail]);
}

export class CrashClient {
  state: 'idle' | 'connecting' | 'resuming' | 'ready' | 'down' | 'closed' = 'idle';
  readonly sent = new Map<string, Sent>();
  readonly unacked = new Map<string, Sent>();
  readonly errorCodes = new Map<string, number>();
  /** Seqs of this room seen (any sender), first time each. */
  readonly seen = new Set<number>();
  maxSeq = 0;
  connections = 0;
  snapshots = 0;
  uploadFailures = 0;
  /** An ack naming a seq other than the one a first ack gave (a retry answered with a new copy). */
  readonly ackMismatches: { tempId: string; first: number; again: number }[] = [];

  #ws: WebSocket | null = null;
  #timer: NodeJS.Timeout | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #failures = 0;
  #counter = 0;
  #sending = false;

  constructor(
    readonly id: number,
    readonly user: ClientUser,
    readonly roomId: number,
    readonly ratePerSecond: number,
    readonly deps: ClientDeps,
  ) {}

  connect(): void {
    if (this.state === 'closed') return;
    this.connections++;
    this.state = 'connecting';
    let q = `token=${encodeURIComponent(this.user.token)}&room_id=${this.roomId}`;
    if (this.deps.resume === 'seq') q += `&last_seq=${this.maxSeq}`;
    const ws = new WebSocket(`ws://127.0.0.1:${this.deps.port()}/api/chat/ws?${q}`, { handshakeTimeout: 5_000 });
    this.#ws = ws;
    let ready = false;
    let resumeTimer: NodeJS.Timeout | null = null;
    ws.on('open', () => {
      this.state = 'resuming';
      ws.send('{"type":"ping"}');
      resumeTimer = setTimeout(() => ws.terminate(), RESUME_TIMEOUT_MS);
    });
    ws.on('message', (data) => {
      if (this.#ws !== ws) return;
      let f: { type?: string; data?: any; [k: string]: any };
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      if (f.type === 'pong' && !ready) {
        ready = true;
        if (resumeTimer) clearTimeout(resumeTimer);
        this.state = 'ready';
        this.#failures = 0;
        // The replay has acknowledged what was stored; the rest goes again, same local_temp_id, oldest first.
        for (const s of [...this.unacked.values()]) this.#transmit(s);
        return;
      }
      this.#frame(f, ready ? 'live' : 'replay');
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (resumeTimer) clearTimeout(resumeTimer);
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.state === 'closed') return;
      this.state = 'down';
      this.#failures++;
      const base = Math.min(1_000, 50 * 2 ** Math.min(this.#failures, 5));
      this.#reconnect = setTimeout(() => {
        this.#reconnect = null;
        this.connect();
      }, Math.round(base * (0.5 + this.deps.rng() / 2)));
    });
  }

  startSending(): void {
    if (this.#sending || this.ratePerSecond <= 0) return;
    this.#sending = true;
    const period = 1000 / this.ratePerSecond;
    this.#timer = setTimeout(() => {
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), period);
    }, this.deps.rng() * period);
  }

  stopSending(): void {
    this.#sending = false;
    if (this.#timer) {
      clearTimeout(this.#timer);
      clearInterval(this.#timer);
    }
    this.#timer = null;
  }

  /** Nothing left to acknowledge (given-up messages aside) and ready. */
  get settled(): boolean {
    return this.state === 'ready' && [...this.unacked.values()].every((s) => s.failed);
  }

  close(): void {
    this.stopSending();
    this.state = 'closed';
    if (this.#reconnect) clearTimeout(this.#reconnect);
    const ws = this.#ws;
    this.#ws = null;
    ws?.terminate();
  }

  #tick(): void {
    if (!this.#sending || this.state !== 'ready' || this.unacked.size >= MAX_IN_FLIGHT) return;
    const n = ++this.#counter;
    const r = this.deps.rng();
    const kind: SendKind = r < this.deps.fileShare / 2 ? 'upload' : r < this.deps.fileShare ? 'inline' : 'text';
    const s: Sent = {
      tempId: `${this.deps.runTag}-c${this.id}-${n}`,
      kind,
      roomId: this.roomId,
      senderId: this.user.id,
      firstSentAt: this.deps.now(),
      attempts: 0,
      uploads: 0,
      filePath: null,
      uploading: false,
      ackedAt: null,
      id: null,
      seq: null,
      ackFiles: 0,
      ackVia: null,
      errors: [],
      failed: false,
    };
    this.sent.set(s.tempId, s);
    this.unacked.set(s.tempId, s);
    this.#transmit(s);
  }

  #transmit(s: Sent): void {
    if (s.failed) return;
    if (s.kind === 'upload' && s.filePath === null) {
      void this.#upload(s);
      return;
    }
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state !== 'ready') return;
    s.attempts++;
    const data: Record<string, unknown> = { room_id: this.roomId, content: s.tempId, local_temp_id: s.tempId };
    if (s.kind === 'upload') Object.assign(data, { message_type: 'file', files_data: [{ file_path: s.filePath }] });
    if (s.kind === 'inline') {
      Object.assign(data, {
        message_type: 'file',
        files_data: [{ file_data: pdf(s.tempId).toString('base64'), file_name: `${s.tempId}.pdf`, mime_type: 'application/pdf' }],
      });
    }
    ws.send(JSON.stringify({ type: 'send_message', data }));
  }

  /** upload-files, then the send; a failed upload (the process died) is tried again on the next connection. */
  async #upload(s: Sent): Promise<void> {
    if (s.uploading) return;
    s.uploading = true;
    s.uploads++;
    try {
      const form = new FormData();
      form.append('message_type', 'file');
      form.append('files', new Blob([pdf(s.tempId, 3000)], { type: 'application/pdf' }), `${s.tempId}.pdf`);
      const res = await fetch(`http://127.0.0.1:${this.deps.port()}/api/chat/upload-files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.user.token}` },
        body: form,
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => null)) as { files?: { file_path: string }[] } | null;
      if (res.status !== 200 || !body?.files?.[0]?.file_path) throw new Error(`HTTP ${res.status} ${JSON.stringify(body)}`);
      s.filePath = body.files[0].file_path;
    } catch {
      this.uploadFailures++;
      return;
    } finally {
      s.uploading = false;
    }
    this.#transmit(s);
  }

  #frame(f: { type?: string; data?: any; [k: string]: any }, phase: 'live' | 'replay'): void {
    switch (f.type) {
      case 'new_message':
        return this.#message(f.data ?? {}, phase);
      case 'error': {
        const code = String(f.code ?? f.message ?? 'error');
        this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
        const t = f.local_temp_id ?? f.data?.local_temp_id;
        const s = t !== undefined && t !== null ? this.unacked.get(String(t)) : undefined;
        if (s) {
          s.errors.push(code);
          if (s.errors.length >= MAX_ERRORS) {
            s.failed = true;
            this.deps.log(`client ${this.id}: gave up on ${s.tempId} after ${s.errors.length} errors (${[...new Set(s.errors)].join(', ')})`);
            return;
          }
          const ws = this.#ws;
          setTimeout(() => {
            if (this.#ws === ws && this.unacked.has(s.tempId)) this.#transmit(s);
          }, 250);
        }
        return;
      }
      case 'snapshot_required':
        this.snapshots++;
        void this.#snapshot();
        return;
      default:
        return;
    }
  }

  #message(d: any, phase: 'live' | 'replay' | 'rest'): void {
    if (Number(d.room_id) !== this.roomId) return;
    const seq = Number(d.seq);
    this.seen.add(seq);
    if (seq > this.maxSeq) this.maxSeq = seq;
    const tempId = d.local_temp_id == null ? (phase === 'rest' ? d.content : null) : String(d.local_temp_id);
    const mine = Number(d.sender_id) === this.user.id && tempId ? this.sent.get(tempId) : undefined;
    if (!mine) return;
    if (mine.seq === null) {
      mine.seq = seq;
      mine.id = Number(d.id);
      mine.ackedAt = this.deps.now();
      mine.ackVia = phase;
      mine.ackFiles = Array.isArray(d.files_data) ? d.files_data.length : d.file_path ? 1 : 0;
      this.unacked.delete(mine.tempId);
    } else if (mine.seq !== seq) {
      this.ackMismatches.push({ tempId: mine.tempId, first: mine.seq, again: seq });
    }
  }

  /** snapshot_required: the history comes over REST; the content names the local_temp_id. */
  async #snapshot(): Promise<void> {
    try {
      for (let page = 1; page < 100_000; page++) {
        const res = await fetch(`http://127.0.0.1:${this.deps.port()}/api/chat/rooms/${this.roomId}/messages?page=${page}&per_page=100`, {
          headers: { authorization: `Bearer ${this.user.token}` },
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { messages: any[]; has_more: boolean };
        for (const m of body.messages) this.#message({ ...m, room_id: this.roomId }, 'rest');
        if (!body.has_more) break;
      }
    } catch (e) {
      this.deps.log(`client ${this.id}: REST history after snapshot_required failed: ${(e as Error).message}`);
    }
  }
}
