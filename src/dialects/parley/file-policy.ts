import type { FilePolicy } from '../../core/files/policy.js';
import { CHAT_POLICY } from '../chat/file-policy.js';

/** Parley's own API takes what /api/chat takes (000/001), so a file sent through one shows in the other. */
export const PARLEY_POLICY: FilePolicy = Object.freeze({ ...CHAT_POLICY, name: 'parley' });
