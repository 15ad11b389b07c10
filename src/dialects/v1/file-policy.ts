import { MB, type FilePolicy } from '../../core/files/policy.js';
import { CHAT_CATEGORIES } from '../chat/file-policy.js';

/**
 * Document 002 ("File Upload System"): the same images and files as 000/001, voice MP3, WAV,
 * M4A, AAC, OGG up to 20 MB.
 */
export const ROOMS_POLICY: FilePolicy = Object.freeze({
  name: '002',
  categories: {
    ...CHAT_CATEGORIES,
    voice: { mimes: ['audio/mpeg', 'audio/wav', 'audio/mp4', 'audio/aac', 'audio/ogg'], maxBytes: 20 * MB },
  },
  maxFiles: 10,
});
