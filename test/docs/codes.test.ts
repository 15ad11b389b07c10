import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';
import { CloseCodes } from '../../src/delivery/connection.js';
import { DEFAULT_TEXTS, STATUS_BY_KIND } from '../../src/dialects/shared/errors.js';
import { CHAT_TEXTS } from '../../src/dialects/chat/codes.js';

const doc = readFileSync(new URL('../../docs/codes.md', import.meta.url), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| ([^|]+) \| ([^|]*) \|$/gm)].map((m) => [m[1], { status: Number(m[2]), text: m[3].trim(), chat: m[4].trim() }]),
);

describe('docs/codes.md and the code agree', () => {
  it('lists every domain error with its status and texts', () => {
    for (const [code, kind] of Object.entries(ERROR_CODES)) {
      const row = rows.get(code);
      expect(row, code).toBeDefined();
      expect(row!.status, code).toBe(STATUS_BY_KIND[kind]);
      expect(row!.text, code).toBe(DEFAULT_TEXTS[code as keyof typeof DEFAULT_TEXTS]);
      expect(row!.chat, code).toBe((CHAT_TEXTS as Record<string, string>)[code] ?? '');
    }
  });

  it('lists no domain error the code does not have', () => {
    for (const code of rows.keys()) expect(Object.keys(ERROR_CODES), code).toContain(code);
  });

  it('lists every close code', () => {
    for (const [name, code] of Object.entries(CloseCodes)) expect(doc, name).toMatch(new RegExp(`^\\| ${code} \\| ${name} \\|`, 'm'));
  });
});
