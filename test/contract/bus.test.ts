import { describe } from 'vitest';
import { createMemoryBus } from '../../src/backends/bus/memory-bus.js';
import { busContract } from './bus.contract.js';

// An in-process bus is one process: delivery is synchronous, so nothing to wait for.
describe('MemoryBus', () => {
  busContract(async () => {
    const bus = createMemoryBus();
    return { buses: [bus], settle: async () => {}, close: () => bus.close() };
  });
});
