import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundaryViolations, importSpecifiers, importViolation, readSources } from './boundaries.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('import boundaries of src/ (issue 16 item 4)', () => {
  it('src/ keeps every rule: the core imports no protocol, library or layer above it; backends no core service; only app/ picks implementations', () => {
    const sources = readSources(ROOT, 'src');
    // A checker that read nothing would pass vacuously.
    expect(sources.filter((f) => f.path.startsWith('src/core/')).length).toBeGreaterThan(20);
    expect(boundaryViolations(sources)).toEqual([]);
  });

  describe('each rule fails on a file that breaks it', () => {
    const violating: [string, string, RegExp][] = [
      ['src/core/messages/x.ts', "import Fastify from 'fastify';", /fastify only through a port/],
      ['src/core/x.ts', "import type { FastifyReply } from '@fastify/websocket';", /@fastify\/ only through a port/],
      ['src/core/files/x.ts', "const sharp = await import('sharp');", /sharp/],
      ['src/core/files/x.ts', "new Worker(src, { workerData: import.meta.resolve('music-metadata') });", /music-metadata/],
      ['src/core/accounts/x.ts', "const { hash } = require('@node-rs/argon2');", /argon2/],
      ['src/core/accounts/x.ts', "export { SignJWT } from 'jose';", /jose/],
      ['src/core/x.ts', "import WebSocket from 'ws';", /ws only through a port/],
      ['src/core/x.ts', "import pg from 'pg';", /pg only/],
      ['src/core/x.ts', "import Database from 'better-sqlite3';", /better-sqlite3/],
      ['src/core/x.ts', "import { Redis } from 'ioredis';", /ioredis/],
      ['src/core/conversations/x.ts', "import { renderRoom } from '../../dialects/chat/render.js';", /never imports src\/dialects/],
      ['src/core/x.ts', "import type { Hub } from '../delivery/hub.js';", /never imports src\/delivery/],
      ['src/core/x.ts', "import { createHttpServer } from '../http/server.js';", /never imports src\/http/],
      ['src/core/x.ts', "import { createParley } from '../app/app.js';", /never imports src\/app/],
      ['src/core/accounts/x.ts', "import { DEFAULT_TENANT_UUID } from '../../backends/store/migrations/0001-initial.js';", /never imports src\/backends/],
      ['src/core/x.ts', "import { createMemoryBus } from '../backends/bus/memory-bus.js';", /never imports src\/backends/],
      ['src/backends/media/x.ts', "import { Files } from '../../core/files/files.js';", /never a service/],
      ['src/backends/store/x.ts', "import type { Core } from '../../core/core.js';", /never a service/],
      ['src/dialects/chat/x.ts', "import { createRedisBus } from '../../backends/bus/redis-bus.js';", /only src\/app, src\/cli, src\/main choose/],
      ['src/delivery/x.ts', "import { SqlStore } from '../backends/store/sql-store.js';", /choose a backend implementation/],
      ['src/http/x.ts', "import { createLocalDiskFileStore } from '../backends/files/local-disk-file-store.js';", /choose a backend implementation/],
    ];
    it.each(violating)('%s: %s', (file, line, why) => {
      const found = boundaryViolations([{ path: file, text: line }]);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(why);
    });
  });

  it('what the rules allow passes: interfaces, types, errors, ports, and implementations in the composition root', () => {
    const allowed: [string, string][] = [
      ['src/core/x.ts', "import type { Store } from '../backends/store/store.js';"],
      ['src/core/files/x.ts', "import { isFileKey } from '../../backends/files/file-store.js';"],
      ['src/core/files/x.ts', "import { fileTypeFromBuffer } from 'file-type';"],
      ['src/core/files/x.ts', "import { open } from 'node:fs/promises';"],
      ['src/core/files/x.ts', "import { checkImageHeader } from './ports.js';"],
      ['src/backends/store/x.ts', "import { DomainError } from '../../core/errors.js';"],
      ['src/backends/bus/x.ts', "import type { DomainEvent } from '../../core/events.js';"],
      ['src/backends/presence/x.ts', "import type { Id } from '../../core/model.js';"],
      ['src/backends/media/x.ts', "import type { ImageInspector } from '../../core/files/ports.js';"],
      ['src/backends/media/x.ts', "import sharp from 'sharp';"],
      ['src/delivery/x.ts', "import type { Bus } from '../backends/bus/bus.js';"],
      ['src/app/x.ts', "import { createRedisBus } from '../backends/bus/redis-bus.js';"],
      ['src/cli/x.ts', "import { createStore } from '../backends/store/create-store.js';"],
      ['src/main.ts', "import { SqlStore } from './backends/store/sql-store.js';"],
    ];
    for (const [file, line] of allowed) expect(boundaryViolations([{ path: file, text: line }]), `${file}: ${line}`).toEqual([]);
  });

  it('a file is judged import by import: its violations are exactly those of its imports alone, whatever else it imports', () => {
    const files = ['src/core/x.ts', 'src/core/files/x.ts', 'src/backends/media/x.ts', 'src/dialects/chat/x.ts', 'src/app/x.ts', 'src/main.ts'];
    const specs = [
      'fastify',
      '@fastify/cors',
      'sharp',
      'file-type',
      'node:crypto',
      '../backends/store/store.js',
      '../backends/store/sql-store.js',
      '../core/model.js',
      '../core/files/files.js',
      '../core/files/ports.js',
      '../../core/errors.js',
      '../dialects/v1/render.js',
      './ports.js',
    ];
    const lineOf = (spec: string, i: number) => (i % 2 === 0 ? `import x${i} from '${spec}';` : `export * from '${spec}';`);
    fc.assert(
      fc.property(fc.constantFrom(...files), fc.array(fc.constantFrom(...specs), { maxLength: 12 }), (file, imports) => {
        const text = imports.map(lineOf).join('\n');
        expect(importSpecifiers(text)).toEqual(imports);
        const alone = imports.flatMap((spec) => importViolation(file, spec) ?? []);
        expect(boundaryViolations([{ path: file, text }])).toEqual(alone);
      }),
    );
  });
});

describe("Parley's own dialect only renders whom the core named (issue 18)", () => {
  it('no file of src/dialects/parley names a deleted account itself: the core\'s NamedMessages and views hold the placeholder', () => {
    const parley = readSources(ROOT, 'src').filter((f) => f.path.startsWith('src/dialects/parley/'));
    expect(parley.length).toBeGreaterThan(5);
    expect(parley.filter((f) => /\bdeletedUser\b/.test(f.text)).map((f) => f.path)).toEqual([]);
  });
});
