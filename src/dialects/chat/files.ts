import type { Static } from '@sinclair/typebox';
import type { FileInput } from '../../core/files/files.js';
import { fileKeyFromReference } from '../shared/static-files.js';
import { FrameError } from '../shared/socket.js';
import type { FileText } from '../shared/file-frames.js';
import type { SendMessageData } from './schemas.js';

/**
 * The files of a `send_message` frame, in every form the documents send them: 000/002's
 * single-file keys (`file_data`, `file_name`, `file_size`, `mime_type`), 001's
 * `files_data` list, and, in either, a file uploaded before (000's React example puts the
 * `file_path` that `upload-files` returned into `file_data`; `file_path` itself works too).
 * The base64 strings are taken out of the frame, so the service can drop each one once
 * decoded. `text` reads a `file_data` value: a big frame's base64 was cut out of it before
 * parsing and comes back as the bytes received (shared/file-frames.ts).
 */
export function chatFileInputs(d: Static<typeof SendMessageData>, text: (value: unknown) => unknown = (v) => v): FileInput[] {
  const single = typeof d.file_data === 'string' && d.file_data !== '';
  const list = d.files_data ?? [];
  if (single && list.length > 0) throw new FrameError('Send either file_data (one file) or files_data (a list), not both');
  const entries = single ? [{ file_data: d.file_data, file_name: d.file_name, mime_type: d.mime_type, file_size: d.file_size }] : list;
  const out = entries.map((f, i): FileInput => {
    const path = (f as { file_path?: unknown }).file_path;
    const data = text(f.file_data) as FileText | null | undefined;
    const ref = typeof path === 'string' && path !== '' ? path : typeof data === 'string' ? data : '';
    const key = ref.length < 2048 ? fileKeyFromReference(ref) : null;
    if (key) return { source: 'upload', key };
    if (typeof path === 'string' && path !== '') throw new FrameError(`files_data.${i}.file_path: not a file uploaded to this server`);
    if ((typeof data !== 'string' && !Buffer.isBuffer(data)) || data.length === 0) {
      throw new FrameError(single ? 'file_data: field required' : `files_data.${i}.file_data: field required`);
    }
    return { source: 'base64', data, name: f.file_name ?? null, mimeType: f.mime_type ?? null, size: f.file_size ?? null, duration: (f as { duration?: number | null }).duration ?? null };
  });
  // The frame keeps no reference to the base64 text from here on.
  d.file_data = null;
  for (const f of list) f.file_data = undefined;
  return out;
}
