import type { FastifyPluginAsync } from 'fastify';
import { isFileKey, type SignedFile } from '../../core/files/files.js';
import type { User } from '../../core/model.js';
import type { DialectContext } from '../dialect.js';
import { bearer } from './auth.js';
import { detailErrorHandler } from './errors.js';

/**
 * Where the documents put files (000–002: `file_path` is `/static/chat_files/…`): the URL of a
 * signed file, under the server's public origin.
 */
export function signedFileUrl(publicUrl: string, f: SignedFile): string {
  return `${publicUrl}/static/${f.key.split('/').map(encodeURIComponent).join('/')}?exp=${f.exp}&sig=${f.sig}`;
}

/**
 * `chat_files/images/x.jpg`, `/static/chat_files/images/x.jpg` or a full URL to it (what
 * `upload-files` returned, with or without its signature) → the key, or null.
 */
export function fileKeyFromReference(ref: string): string | null {
  let s = ref.trim();
  if (/^https?:\/\//i.test(s)) {
    try {
      s = new URL(s).pathname;
    } catch {
      return null;
    }
  } else s = s.split(/[?#]/)[0];
  try {
    s = decodeURIComponent(s);
  } catch {
    return null;
  }
  s = s.replace(/^\/+/, '').replace(/^static\//, '');
  return isFileKey(s) ? s : null;
}

/** `attachment; filename="ascii"; filename*=UTF-8''…` (RFC 6266): the original name, safely quoted. */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`;
}

/** A single `bytes=` range (what audio players ask for), or null for the whole file; 'bad' when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or another unit: the whole file
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'bad';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'bad';
  return { start, end };
}

/**
 * `GET /static/chat_files/{images,files,voices,thumbnails}/{name}`: the URLs documents
 * 000–002 hand out (`file_path`). Served only with a valid signature (the URLs Parley
 * renders carry one) or to a participant of the file's conversation (a bearer token, or
 * `?token=` where a header cannot be set); anything else is 403, whether the file exists
 * or not. Every response says what it is and is never sniffed into something else.
 */
export function staticFilesRoutes(ctx: DialectContext): FastifyPluginAsync {
  const { core } = ctx;
  return async (app) => {
    app.setErrorHandler(detailErrorHandler());

    app.get('/static/chat_files/*', { schema: { hide: true } }, async (req, reply) => {
      const rest = (req.params as { '*': string })['*'];
      const q = req.query as Record<string, unknown>;
      const token = bearer(req) ?? (typeof q.token === 'string' ? q.token : undefined);
      let user: User | null = null;
      if (token) user = await core.accounts.authenticate(token).catch(() => null);
      const d = await core.files.download(`chat_files/${rest}`, { exp: q.exp, sig: q.sig, user });

      const range = parseRange(req.headers.range, d.file.size);
      if (range === 'bad') {
        reply.header('content-range', `bytes */${d.file.size}`);
        return reply.code(416).send({ detail: 'Range not satisfiable' });
      }
      const viewable = d.mimeType.startsWith('image/') || d.mimeType.startsWith('audio/');
      reply.header('content-type', d.mimeType);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('content-disposition', contentDisposition(viewable ? 'inline' : 'attachment', d.thumbnail ? `${d.attachment.fileName}.webp` : d.attachment.fileName));
      // Nothing served here may run: not as a page, not as a frame's content.
      reply.header('content-security-policy', "default-src 'none'; sandbox");
      // A signed URL is a capability: whoever holds it may read the file, so the page of a
      // product on another site may show it in <img>/<audio>. No ambient credential opens a
      // file (the cookie is never read here), so a page without the signature or a token gets
      // 403 whatever this says.
      reply.header('cross-origin-resource-policy', 'cross-origin');
      reply.header('cache-control', q.sig !== undefined ? 'private, max-age=300' : 'private, no-cache');
      reply.header('accept-ranges', 'bytes');
      reply.header('last-modified', new Date(d.file.modifiedAt).toUTCString());

      if (range) {
        reply.code(206);
        reply.header('content-range', `bytes ${range.start}-${range.end}/${d.file.size}`);
        reply.header('content-length', range.end - range.start + 1);
        return reply.send(d.file.stream(range));
      }
      reply.header('content-length', d.file.size);
      return reply.send(d.file.stream());
    });
  };
}
