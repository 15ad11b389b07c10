import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../src/app/app.js';
import { ERROR_CODES, ERROR_REASONS, DomainError, refusal, type ErrorCode, type ErrorReason } from '../../src/core/errors.js';
import { CloseCodes } from '../../src/delivery/connection.js';
import { STATUS_BY_KIND } from '../../src/dialects/shared/errors.js';
import { DEFAULT_TEXTS, errorText, type Text, type TextKey, type Texts } from '../../src/dialects/shared/texts.js';

// docs/codes.md is the one table of what a client can read; this keeps it and every dialect's
// codes.ts in step, for every document a dialect serves (not only /api/chat).

const doc = readFileSync(new URL('../../docs/codes.md', import.meta.url), 'utf8');

/** Every document part and its table of words, as the dialects declare them. */
const parts: [string, Texts][] = DIALECTS.flatMap((d) => Object.entries(d.texts)).sort(([a], [b]) => a.localeCompare(b));
const docForm = (t: Text | undefined): string => (t === undefined ? '' : typeof t === 'string' ? t : t.doc);

/** The rows of the table whose header starts with `| first |`, by their first cell. */
function table(first: string): Map<string, string[]> {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  expect(start, `a table headed "| ${first} |" in docs/codes.md`).toBeGreaterThanOrEqual(0);
  const header = lines[start].split('|').slice(1, -1).map((c) => c.trim());
  expect(header.slice(-parts.length), 'one column per document, in order').toEqual(parts.map(([name]) => name));
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    rows.set(cells[0].replace(/`/g, ''), cells.slice(1));
  }
  return rows;
}

describe('docs/codes.md and the code agree', () => {
  it('lists every domain error with its status, shared text and each document\'s own words', () => {
    const rows = table('code');
    for (const [code, kind] of Object.entries(ERROR_CODES) as [ErrorCode, keyof typeof STATUS_BY_KIND][]) {
      const row = rows.get(code);
      expect(row, code).toBeDefined();
      const [status, text, ...own] = row!;
      expect(Number(status), code).toBe(STATUS_BY_KIND[kind]);
      expect(text, code).toBe(docForm(DEFAULT_TEXTS[code]));
      expect(own, code).toEqual(parts.map(([, texts]) => docForm(texts[code])));
    }
    expect([...rows.keys()].sort(), 'no row for a code the server lacks').toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('lists every reason with the code it refines and its words in each document', () => {
    const rows = table('reason');
    for (const [reason, code] of Object.entries(ERROR_REASONS) as [ErrorReason, ErrorCode][]) {
      const row = rows.get(reason);
      expect(row, reason).toBeDefined();
      const [refines, status, text, ...own] = row!;
      expect(refines.replace(/`/g, ''), reason).toBe(code);
      expect(Number(status), reason).toBe(STATUS_BY_KIND[ERROR_CODES[code]]);
      expect(text, reason).toBe(docForm(DEFAULT_TEXTS[reason]));
      expect(own, reason).toEqual(parts.map(([, texts]) => docForm(texts[reason])));
    }
    expect([...rows.keys()].sort(), 'no row for a reason the server lacks').toEqual(Object.keys(ERROR_REASONS).sort());
  });

  it('has a text for every code and reason and nothing else, in every table', () => {
    const keys = [...Object.keys(ERROR_CODES), ...Object.keys(ERROR_REASONS)].sort();
    expect(Object.keys(DEFAULT_TEXTS).sort()).toEqual(keys);
    for (const [name, texts] of parts) for (const k of Object.keys(texts)) expect(keys, `${name}: ${k}`).toContain(k);
  });

  it('lists every close code', () => {
    for (const [name, code] of Object.entries(CloseCodes)) expect(doc, name).toMatch(new RegExp(`^\\| ${code} \\| ${name} \\|`, 'm'));
  });
});

describe('every refusal reads as a sentence in every document', () => {
  /** The figures a text shows: `{name}` in a template, `{name…}` in a function text's documented form. */
  const placeholders = (t: Text): string[] => [...(typeof t === 'string' ? t : t.doc).matchAll(/\{([a-z_]+)[,}]/g)].map((m) => m[1]);
  const param = fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[{}]/.test(s)), fc.array(fc.constantFrom('image/png', 'image/jpeg'), { minLength: 1, maxLength: 3 }));
  const names = ['max', 'min', 'kind', 'declared', 'found', 'extension', 'mime', 'width', 'height', 'frames', 'channels', 'bits', 'decoded_bytes', 'max_bytes', 'max_files', 'seconds', 'allowed', 'error'];

  it('a text whose figures are given has no placeholder left and names no undefined', () => {
    const keys = Object.keys(DEFAULT_TEXTS) as TextKey[];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.constantFrom(...parts.map(([, t]) => t)), fc.dictionary(fc.constantFrom(...names), param), (key, texts, extra) => {
        const text = texts[key] ?? DEFAULT_TEXTS[key];
        const params = { ...extra, ...Object.fromEntries(placeholders(text).map((n) => [n, extra[n] ?? 7])) };
        const e = key in ERROR_REASONS ? refusal(key as ErrorReason, params) : new DomainError(key as ErrorCode, { params });
        const out = errorText(e, texts);
        expect(out).not.toMatch(/\{[a-z_]+\}|undefined|NaN|\[object/);
        expect(out.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it("a code's text without figures still reads whole (a refusal the core made without them)", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      if (typeof DEFAULT_TEXTS[code] === 'string' && placeholders(DEFAULT_TEXTS[code]).length > 0) continue;
      expect(errorText(new DomainError(code)), code).not.toMatch(/\{[a-z_]+\}|undefined/);
    }
  });

  it('keeps the documents\' own sentences word for word', () => {
    expect(errorText(new DomainError('file_too_large', { params: { max_bytes: 10 * 1024 * 1024 } }))).toBe('File too large. Maximum size: 10.0MB');
    expect(errorText(new DomainError('file_type_not_allowed', { params: { allowed: ['image/jpeg', 'image/png'] } }))).toBe('File type not allowed. Allowed types: image/jpeg, image/png');
    expect(errorText(new DomainError('too_many_files', { params: { max: 10 } }))).toBe('Too many files. Maximum 10 files per message');
    expect(errorText(new DomainError('message_too_long', { params: { max: 5000 } }))).toBe('Message too long. Maximum length: 5000 characters');
    expect(errorText(new DomainError('not_friends'), DIALECTS.find((d) => d.name === 'v1')!.texts['004'])).toBe('You can only send messages to your friends');
    expect(errorText(new DomainError('conversation_not_found'), DIALECTS.find((d) => d.name === 'chat')!.texts['000/001'])).toBe('Room not found');
  });
});
