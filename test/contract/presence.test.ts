import { describe } from 'vitest';
import { createMemoryPresence } from '../../src/backends/presence/memory-presence.js';
import { presenceContract } from './presence.contract.js';

describe('MemoryPresence', () => {
  presenceContract(async (ttl) => {
    const presence = createMemoryPresence(ttl);
    return { presence, close: () => presence.close() };
  });
});
