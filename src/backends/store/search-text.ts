// Text → search terms, the same for what is indexed and what is asked (docs/search.md):
// ICU's word segmentation (Intl.Segmenter: dictionaries for Chinese, Japanese, Thai…), then
// folding (compatibility forms, case, Latin/Greek/Cyrillic accents, Arabic vowel marks).

const words = new Intl.Segmenter('und', { granularity: 'word' });
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
/** Combining accents of Latin, Greek and Cyrillic, and Arabic short vowels (tashkeel). */
const FOLDED_MARKS = /[\u0300-\u036f\u064b-\u065f\u0670]/g;
/** A word the segmenter keeps whole that a file name or an address splits: `report.pdf`. */
const INNER_SEPARATORS = /[._:/@]+/;

/** Case and accent folding: `Café` → `cafe`, `ΣΟΦΟΣ` → `σοφοσ`, `Straße` → `strasse`. */
export function fold(word: string): string {
  return word
    .normalize('NFKD')
    .replace(FOLDED_MARKS, '')
    .normalize('NFC')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/ς/g, 'σ');
}

/** A searchable word of a text: where it is (UTF-16 offsets) and its folded form. */
export interface Term {
  start: number;
  end: number;
  folded: string;
}

/** Printable ASCII only: no accent, no script without spaces, no emoji. */
const ASCII = /^[\x20-\x7e\t\n\r]*$/;
/**
 * The words ICU's rules (UAX #29) find in ASCII text, without its per-segment cost: letters,
 * digits and `_`, joined by `:` `.` `'` between letters and `.` `,` `;` `'` between digits
 * (test/search/text.test.ts checks it against Intl.Segmenter on random ASCII).
 */
const ASCII_WORD = /[A-Za-z0-9_]+(?:(?:(?<=[A-Za-z])[:.'](?=[A-Za-z])|(?<=[0-9])[.,;'](?=[0-9]))[A-Za-z0-9_]+)*/g;

/** The words (and emoji) of `text`, in order. */
export function termsOf(text: string): Term[] {
  return ASCII.test(text) ? asciiTerms(text) : segmentedTerms(text);
}

function asciiTerms(text: string): Term[] {
  const out: Term[] = [];
  for (const m of text.matchAll(ASCII_WORD)) {
    // ICU's quirk: one `_` alone is no word, two are.
    if (m[0] === '_') continue;
    out.push({ start: m.index, end: m.index + m[0].length, folded: m[0].toLowerCase() });
  }
  return out;
}

/** ICU's segmentation alone (tests compare the ASCII shortcut with it). */
export function segmentedTerms(text: string): Term[] {
  const out: Term[] = [];
  for (const s of words.segment(text)) {
    if (!s.isWordLike && !PICTOGRAPH.test(s.segment)) continue;
    const folded = fold(s.segment);
    if (folded.trim() === '') continue;
    out.push({ start: s.index, end: s.index + s.segment.length, folded });
  }
  return out;
}

/**
 * The longest word the index keeps, in UTF-16 units: a longer one is kept as its beginning
 * (a query matches words by their beginning anyway). PostgreSQL refuses a tsvector lexeme
 * over 2047 bytes, and a 5000-letter "word" is no word anyone searches for.
 */
export const MAX_INDEXED_WORD = 100;
const capped = (word: string) => (word.length > MAX_INDEXED_WORD ? word.slice(0, MAX_INDEXED_WORD) : word);

/** What the index stores for a message: its words and its files' names, folded, separated by spaces. */
export function indexText(content: string | null, fileNames: readonly string[] = []): string {
  const tokens: string[] = [];
  for (const text of [content ?? '', ...fileNames]) {
    for (const t of termsOf(text)) {
      tokens.push(capped(t.folded));
      const parts = t.folded.split(INNER_SEPARATORS).filter((p) => p !== '');
      if (parts.length > 1) tokens.push(...parts.map(capped));
    }
  }
  return tokens.join(' ');
}

/**
 * The index's word for "in conversation `id`": a private-use character no text yields (the
 * segmenter never makes a word of it), so a conversation filter is one more word to intersect.
 */
export const conversationTerm = (id: number) => `\uE000${id}`;

/** A message's index row: its conversation's term and its words; '' when it has no word to find. */
export function indexRow(conversationId: number, content: string | null, fileNames: readonly string[] = []): string {
  const text = indexText(content, fileNames);
  return text === '' ? '' : `${conversationTerm(conversationId)} ${text}`;
}

/** The distinct folded words of a query: every one must begin a word of a message. */
export function queryTerms(query: string): string[] {
  return [...new Set(termsOf(query).map((t) => capped(t.folded)))];
}

/** A piece of text with the ranges (UTF-16 offsets into `text`) that matched the query. */
export interface Highlighted {
  text: string;
  ranges: [number, number][];
}

/**
 * The words of `text` that a query's terms begin, within a window of about `width`
 * characters around the first one; null when none does.
 */
export function highlight(text: string, terms: readonly string[], width = 160): Highlighted | null {
  const hits = termsOf(text).filter((t) => terms.some((q) => t.folded.startsWith(q) || t.folded.split(INNER_SEPARATORS).some((p) => p.startsWith(q))));
  if (hits.length === 0) return null;
  let from = Math.max(0, hits[0].start - Math.floor(width / 4));
  // Never cut a surrogate pair or a word in two at the window's start.
  const before = termsOf(text.slice(0, from + 1)).at(-1);
  if (from > 0 && before && before.end > from) from = before.start;
  const to = Math.min(text.length, from + width);
  const ranges = hits.filter((h) => h.start >= from && h.end <= to).map((h): [number, number] => [h.start - from, h.end - from]);
  return { text: text.slice(from, to), ranges };
}
