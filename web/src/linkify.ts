/**
 * Splits message text into plain text and http(s) links, for rendering as text nodes and
 * <a> elements (never as HTML). Anything that is not a well-formed http(s) URL stays text.
 */
export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string } | { kind: 'mention'; text: string };

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// As the server reads them (src/core/messages/messages.ts): @name without spaces, or @email.
const MENTION_RE = /(^|[\s(])(@[^\s,;:!?()<>"']+)/g;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** The href of an http(s) URL, or null when it is not one. */
export function safeHref(raw: string): string | null {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

export function linkify(text: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let raw = m[0];
    // "see https://x.org/a." and "(https://x.org/a)": the punctuation is not the URL's, unless balanced.
    const trail = TRAILING.exec(raw);
    if (trail) {
      let cut = trail[0];
      if (cut.startsWith(')') && raw.includes('(')) cut = cut.slice(1);
      raw = raw.slice(0, raw.length - cut.length);
    }
    const start = m.index;
    const href = raw ? safeHref(raw) : null;
    if (!href) continue;
    if (start > last) pushText(out, text.slice(last, start));
    out.push({ kind: 'link', text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) pushText(out, text.slice(last));
  return out;
}

/** Text, with @mentions split out (so they can be highlighted). */
function pushText(out: Segment[], text: string): void {
  let last = 0;
  for (const m of text.matchAll(MENTION_RE)) {
    const at = m.index + m[1].length;
    const mention = m[2].replace(/[.]+$/, '');
    if (mention.length < 2) continue;
    if (at > last) out.push({ kind: 'text', text: text.slice(last, at) });
    out.push({ kind: 'mention', text: mention });
    last = at + mention.length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
}

const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3|\s)+$/u;

/** Whether a message is only emoji (sent as kind `emoji`, shown large). */
export function isEmojiOnly(text: string): boolean {
  const t = text.trim();
  return t.length > 0 && t.length <= 32 && !/\s/.test(t) && EMOJI_ONLY.test(t) && /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(t) && !/^[\d#*]+$/.test(t);
}
