import type { FilePolicy } from '../../core/files/policy.js';
import { CHAT_POLICY } from '../chat/file-policy.js';

/** Document 003 names no types or sizes of its own: 000/001's, one file per message or upload. */
export const NOTIFICATIONS_POLICY: FilePolicy = Object.freeze({ ...CHAT_POLICY, name: '003', maxFiles: 1 });
