import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient, UploadProgress, XhrLike } from '@parley/sdk';
import { useParley } from '../helpers/parley.js';
import { eventually, expectInStepWithRest, registered, type ServerRef } from './support.js';

// Uploads with progress: fetch with a counted stream body (Node's path), and the
// XMLHttpRequest path browsers take (driven here by a small XMLHttpRequest over node:http
// that serialises FormData the way a browser does and reports upload progress per chunk).

/** Just enough of XMLHttpRequest for the SDK's upload, over node:http. */
class NodeXhr implements XhrLike {
  static instances = 0;
  upload: { onprogress: ((ev: { loaded: number; total: number; lengthComputable: boolean }) => void) | null } = { onprogress: null };
  onload: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onabort: ((ev: unknown) => void) | null = null;
  status = 0;
  responseText = '';
  #method = 'GET';
  #url = '';
  #headers: Record<string, string> = {};
  #responseHeaders: http.IncomingHttpHeaders = {};
  #req: http.ClientRequest | null = null;

  constructor() {
    NodeXhr.instances++;
  }
  open(method: string, url: string): void {
    this.#method = method;
    this.#url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.#headers[name] = value;
  }
  getResponseHeader(name: string): string | null {
    const v = this.#responseHeaders[name.toLowerCase()];
    return v === undefined ? null : String(v);
  }
  abort(): void {
    this.#req?.destroy();
    this.onabort?.({});
  }
  send(body: unknown): void {
    void (async () => {
      const encoded = new Response(body as FormData);
      const bytes = new Uint8Array(await encoded.arrayBuffer());
      const req = (this.#req = http.request(this.#url, {
        method: this.#method,
        headers: { ...this.#headers, 'content-type': encoded.headers.get('content-type')!, 'content-length': String(bytes.length) },
      }));
      req.on('error', () => this.onerror?.({}));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.status = res.statusCode ?? 0;
          this.#responseHeaders = res.headers;
          this.responseText = Buffer.concat(chunks).toString('utf8');
          this.onload?.({});
        });
      });
      for (let i = 0; i < bytes.length; i += 256 * 1024) {
        const chunk = bytes.subarray(i, i + 256 * 1024);
        await new Promise<void>((resolve, reject) => req.write(chunk, (e) => (e ? reject(e) : resolve())));
        this.upload.onprogress?.({ loaded: i + chunk.length, total: bytes.length, lengthComputable: true });
      }
      req.end();
    })();
  }
}

describe('SDK: files', () => {
  const server = useParley();
  let ref: ServerRef;
  let ada: ParleyClient;
  let bob: ParleyClient;
  let conv: number;
  const text = 'Parley attachment line\n'.repeat(150_000); // ≈ 3.4 MB

  beforeAll(async () => {
    ref = { url: server.url };
    ada = await registered(ref, 'Ada');
    bob = await registered(ref, 'Bob');
    conv = (await ada.createDirect(bob.user!.id)).id;
    await Promise.all([ada.connect(), bob.connect()]);
  });
  afterAll(async () => {
    ada.disconnect();
    bob.disconnect();
  });

  const local = (url: string) => server.url + new URL(url).pathname + new URL(url).search;

  function expectProgress(progress: UploadProgress[], atLeast: number) {
    expect(progress.length).toBeGreaterThan(3);
    const total = progress[0].total;
    expect(total).toBeGreaterThan(atLeast);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].total).toBe(total);
      expect(progress[i].loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded);
    }
    expect(progress.at(-1)).toEqual({ loaded: total, total });
  }

  it('Node: fetch with a counted stream body; the key named in a send becomes the attachment Bob sees', async () => {
    const progress: UploadProgress[] = [];
    const file = new File([text], 'notes.txt', { type: 'text/plain' });
    const [up] = await ada.upload([file], { onProgress: (p) => progress.push({ ...p }) });
    expectProgress(progress, file.size);
    expect(up).toMatchObject({ kind: 'file', name: 'notes.txt', size: file.size, mime_type: 'text/plain', key: expect.any(String) });

    const sent = await ada.send(conv, { content: 'the notes', attachments: [up.key] }).promise;
    expect(sent).toMatchObject({ kind: 'file', content: 'the notes', attachments: [{ name: 'notes.txt', size: file.size }] });
    await eventually(() => expect(bob.state.messages(conv).at(-1)?.attachments.map((a) => a.name)).toEqual(['notes.txt']));
    const got = await fetch(local(bob.state.messages(conv).at(-1)!.attachments[0].url));
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(text);
    // A key is spent once sent.
    await expect(ada.send(conv, { attachments: [up.key] }).promise).rejects.toMatchObject({ code: 'upload_not_found' });
  });

  it('browser path: XMLHttpRequest upload.onprogress, several files in one request', async () => {
    const xhrAda = await registered(ref, 'Xia', { XMLHttpRequest: NodeXhr });
    // Connected, as a page is: the state then follows Bob's delivered receipt live. (A client
    // without a socket only knows what its REST answers said, and could not stay in step.)
    await xhrAda.connect();
    const room = (await xhrAda.createDirect(bob.user!.id)).id;
    const before = NodeXhr.instances;
    const progress: UploadProgress[] = [];
    const files = await xhrAda.upload([new File([text], 'a.txt', { type: 'text/plain' }), { file: new Blob(['second file\n'], { type: 'text/plain' }), name: 'b.txt' }], {
      onProgress: (p) => progress.push({ ...p }),
    });
    expect(NodeXhr.instances).toBe(before + 1);
    expectProgress(progress, text.length);
    expect(files.map((f) => f.name)).toEqual(['a.txt', 'b.txt']);
    const sent = await xhrAda.send(room, { attachments: files.map((f) => f.key) }).promise;
    expect(sent.attachments.map((a) => [a.name, a.size])).toEqual([
      ['a.txt', text.length],
      ['b.txt', 12],
    ]);
    // A refused upload is a ParleyError with the server's words.
    const bad = await xhrAda.upload([new File(['MZ\x90\x00 not really'], 'x.exe', { type: 'application/x-msdownload' })]).catch((e: unknown) => e);
    expect(bad).toMatchObject({ name: 'ParleyError', status: 400 });
    await expectInStepWithRest(xhrAda, ref);
    xhrAda.disconnect();
  });
});
