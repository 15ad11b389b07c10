import { describe, expect, it } from 'vitest';
import { isEmojiOnly, linkify, safeHref } from '../../../web/src/linkify.js';

// The page's only way from message text to markup: text segments and http(s) links.
describe('linkify', () => {
  it('links http(s) URLs and leaves the rest as text', () => {
    expect(linkify('see https://example.com/a?b=1. ok')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: '. ok' },
    ]);
    expect(linkify('(http://x.org/wiki/A_(b))')).toEqual([
      { kind: 'text', text: '(' },
      { kind: 'link', text: 'http://x.org/wiki/A_(b)', href: 'http://x.org/wiki/A_(b)' },
      { kind: 'text', text: ')' },
    ]);
  });

  it('never links other schemes or markup', () => {
    for (const t of ['javascript:alert(1)', 'data:text/html,<b>x</b>', '<a href="https://x.org">x</a>', 'vbscript:x', 'ftp://x.org']) {
      const segs = linkify(t);
      for (const s of segs) if (s.kind === 'link') expect(s.href).toMatch(/^https?:\/\//);
      expect(segs.map((s) => s.text).join('')).toBe(t);
    }
    expect(linkify('<a href="https://x.org">x</a>').find((s) => s.kind === 'link')?.href).toBe('https://x.org/');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('https://')).toBeNull();
  });

  it('splits out @mentions and keeps every character', () => {
    const t = 'hi @Bob and @ada@example.com, mail a@b.c. Thanks @Carol.';
    const segs = linkify(t);
    expect(segs.filter((s) => s.kind === 'mention').map((s) => s.text)).toEqual(['@Bob', '@ada@example.com', '@Carol']);
    expect(segs.map((s) => s.text).join('')).toBe(t);
  });

  it('knows an emoji-only message', () => {
    expect(isEmojiOnly('👍')).toBe(true);
    expect(isEmojiOnly('❤️🔥')).toBe(true);
    expect(isEmojiOnly('ok 👍')).toBe(false);
    expect(isEmojiOnly('123')).toBe(false);
    expect(isEmojiOnly('')).toBe(false);
  });
});
