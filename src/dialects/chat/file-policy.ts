import { MB, type FilePolicy } from '../../core/files/policy.js';

export const CHAT_CATEGORIES = {
  image: { mimes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'], maxBytes: 10 * MB },
  file: {
    mimes: [
      'application/pdf',
      'application/msword',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.ms-excel',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'text/plain',
      'application/zip',
      'application/vnd.rar',
    ],
    maxBytes: 50 * MB,
  },
  voice: { mimes: ['audio/mpeg', 'audio/wav'], maxBytes: 50 * MB },
} as const;

/**
 * Documents 000 and 001 ("File Size Limits", "Supported File Types"): images JPEG, PNG,
 * GIF, WebP up to 10 MB; PDF, DOC, DOCX, XLS, XLSX, TXT, ZIP, RAR up to 50 MB; voice MP3,
 * WAV up to 50 MB; at most 10 files per message ("Multiple File Limit").
 */
export const CHAT_POLICY: FilePolicy = Object.freeze({ name: '000/001', categories: CHAT_CATEGORIES, maxFiles: 10 });
