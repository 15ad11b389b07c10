import { ParleyError } from './errors.js';

/** Bytes sent so far of one upload request (multipart framing included). */
export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadOptions {
  /** Called as the body goes out; the last call has loaded === total. */
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  /**
   * `auto` (default): XMLHttpRequest when the platform has it (browsers: upload.onprogress),
   * else fetch with a counted ReadableStream body (Node 20).
   */
  transport?: 'auto' | 'xhr' | 'fetch';
}

/** A file to upload: a File (its name is used), a Blob, or a Blob with an explicit name. */
export type UploadInput = Blob | { file: Blob; name: string; type?: string };

export interface RawResponse {
  status: number;
  text: string;
  retryAfter: string | null;
}

interface Part {
  blob: Blob;
  name: string;
  type: string;
}

export function toParts(files: readonly UploadInput[]): Part[] {
  return files.map((f, i) => {
    if (isBlob(f)) {
      const name = (f as Blob & { name?: unknown }).name;
      return { blob: f, name: typeof name === 'string' && name ? name : `file${i + 1}`, type: f.type };
    }
    return { blob: f.file, name: f.name, type: f.type ?? f.file.type };
  });
}

function isBlob(v: unknown): v is Blob {
  return typeof v === 'object' && v !== null && typeof (v as Blob).size === 'number' && typeof (v as Blob).stream === 'function';
}

// ---------------------------------------------------------------- XMLHttpRequest (browsers)

/** The part of XMLHttpRequest the SDK uses (the DOM's, or any compatible implementation). */
export interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: unknown): void;
  abort(): void;
  getResponseHeader(name: string): string | null;
  readonly status: number;
  readonly responseText: string;
  readonly upload: { onprogress: ((ev: any) => void) | null };
  onload: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  onabort: ((ev: any) => void) | null;
}
export type XhrConstructor = new () => XhrLike;

export function xhrUpload(XHR: XhrConstructor, url: string, headers: Record<string, string>, parts: Part[], opts: UploadOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const p of parts) form.append('file', p.blob, p.name);
    const xhr = new XHR();
    xhr.open('POST', url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    let last: UploadProgress = { loaded: 0, total: parts.reduce((n, p) => n + p.blob.size, 0) };
    const report = (p: UploadProgress) => {
      last = p;
      opts.onProgress?.(p);
    };
    xhr.upload.onprogress = (e: { loaded: number; total: number; lengthComputable?: boolean }) => {
      if (e.lengthComputable === false) return;
      report({ loaded: e.loaded, total: e.total });
    };
    const onAbort = () => xhr.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => opts.signal?.removeEventListener('abort', onAbort);
    xhr.onload = () => {
      done();
      // The body is all out once there is an answer: the last report reaches the total.
      if (last.loaded < last.total) report({ loaded: last.total, total: last.total });
      resolve({ status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader('retry-after') });
    };
    xhr.onerror = () => {
      done();
      reject(new ParleyError('network_error', 'The upload failed: the server could not be reached'));
    };
    xhr.onabort = () => {
      done();
      reject(abortError(opts.signal));
    };
    if (opts.signal?.aborted) return xhr.onabort(null);
    xhr.send(form);
  });
}

// ---------------------------------------------------------------- fetch with a counted stream (Node 20)

type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export async function fetchUpload(fetchFn: FetchFn, url: string, headers: Record<string, string>, parts: Part[], opts: UploadOptions): Promise<RawResponse> {
  const boundary = `----parley${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const enc = new TextEncoder();
  const segments: (Uint8Array | Blob)[] = [];
  for (const p of parts) {
    segments.push(
      enc.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${escapeName(p.name)}"\r\n` +
          `Content-Type: ${p.type || 'application/octet-stream'}\r\n\r\n`,
      ),
      p.blob,
      enc.encode('\r\n'),
    );
  }
  segments.push(enc.encode(`--${boundary}--\r\n`));
  const total = segments.reduce((n, s) => n + (s instanceof Uint8Array ? s.byteLength : s.size), 0);
  let loaded = 0;
  let index = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (index >= segments.length) {
          controller.close();
          return;
        }
        const seg = segments[index];
        let chunk: Uint8Array | undefined;
        if (seg instanceof Uint8Array) {
          chunk = seg;
          index++;
        } else {
          reader ??= (seg.stream() as unknown as ReadableStream<Uint8Array>).getReader();
          const r = await reader.read();
          if (r.done) {
            reader = null;
            index++;
            continue;
          }
          chunk = r.value;
        }
        if (chunk.byteLength === 0) continue;
        controller.enqueue(chunk);
        loaded += chunk.byteLength;
        opts.onProgress?.({ loaded, total });
        return;
      }
    },
    cancel() {
      void reader?.cancel();
    },
  });
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      signal: opts.signal,
      // Required by fetch for a stream body (Node's undici; Chrome).
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
  } catch (e) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    throw new ParleyError('network_error', `The upload failed: ${(e as Error)?.message ?? e}`);
  }
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

/** The multipart/form-data filename escaping of the HTML standard. */
function escapeName(name: string): string {
  return name.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

function abortError(signal?: AbortSignal): unknown {
  return signal?.reason ?? new ParleyError('aborted', 'The upload was aborted');
}
