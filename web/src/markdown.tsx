import { Lexer, Tokenizer, type Token, type Tokens } from 'marked';
import type { ComponentChildren } from 'preact';
import { linkify, safeHref } from './linkify.js';
import './markdown.css';

// Message Markdown (bold, italic, strike, inline code, code blocks, links, lists, quotes) as
// Preact elements built from marked's tokens: nothing is ever parsed as HTML by the browser
// (no innerHTML), so raw HTML in a message is shown as the text it is. Links go out only to
// http(s) and mailto. marked gives a tree of tokens (a paragraph holds its strong, em, link…),
// which maps one to one onto elements; its HTML renderer is never used.

/** Bare URLs are linkify's (as before Markdown, with its rules for trailing punctuation); marked's GFM autolinks are off. */
class ChatTokenizer extends Tokenizer {
  override url(): undefined {
    return undefined;
  }
}

const lexer = () => new Lexer({ gfm: true, breaks: false, tokenizer: new ChatTokenizer() });

/** An http(s) or mailto href, or null. */
export function safeLink(href: string): string | null {
  if (/^mailto:/i.test(href.trim())) {
    try {
      const u = new URL(href.trim());
      return u.protocol === 'mailto:' && u.pathname.length > 0 ? u.href : null;
    } catch {
      return null;
    }
  }
  return safeHref(href.trim());
}

/** Text as text nodes, with http(s) links as <a> and @mentions highlighted. Never HTML. */
export function RichText({ text }: { text: string }) {
  return <>{plain(text, 0)}</>;
}

/** Text with its http(s) links and @mentions. */
function plain(text: string, key: number | string): ComponentChildren {
  return linkify(text).map((s, i) =>
    s.kind === 'link' ? (
      <a key={`${key}.${i}`} href={s.href} target="_blank" rel="noopener noreferrer">
        {s.text}
      </a>
    ) : s.kind === 'mention' ? (
      <span key={`${key}.${i}`} class="mention">
        {s.text}
      </span>
    ) : (
      s.text
    ),
  );
}

function inline(tokens: Token[] | undefined): ComponentChildren[] {
  return (tokens ?? []).map((t, i) => inlineToken(t, i));
}

function inlineToken(t: Token, key: number): ComponentChildren {
  switch (t.type) {
    case 'text':
      return 'tokens' in t && t.tokens ? <span key={key}>{inline(t.tokens)}</span> : plain(t.text, key);
    case 'escape':
      return t.text;
    case 'strong':
      return <strong key={key}>{inline((t as Tokens.Strong).tokens)}</strong>;
    case 'em':
      return <em key={key}>{inline((t as Tokens.Em).tokens)}</em>;
    case 'del':
      return <del key={key}>{inline((t as Tokens.Del).tokens)}</del>;
    case 'codespan':
      return <code key={key}>{t.text}</code>;
    case 'br':
      return <br key={key} />;
    case 'link': {
      const href = safeLink((t as Tokens.Link).href);
      // Not http(s) or mailto: the words stay, the link goes.
      if (!href) return <span key={key}>{inline((t as Tokens.Link).tokens)}</span>;
      return (
        <a key={key} href={href} target="_blank" rel="noopener noreferrer">
          {inline((t as Tokens.Link).tokens)}
        </a>
      );
    }
    case 'image': {
      // Never loaded from a message (a tracking pixel, a huge file): a link to it, if it is http(s).
      const href = safeHref((t as Tokens.Image).href.trim());
      const label = `🖼 ${t.text || 'image'}`;
      return href ? (
        <a key={key} href={href} target="_blank" rel="noopener noreferrer">
          {label}
        </a>
      ) : (
        label
      );
    }
    default:
      // Raw HTML and anything else: the characters as typed.
      return t.raw;
  }
}

function block(t: Token, key: number): ComponentChildren {
  switch (t.type) {
    case 'paragraph':
      return <p key={key}>{inline((t as Tokens.Paragraph).tokens)}</p>;
    case 'text':
      return 'tokens' in t && t.tokens ? <span key={key}>{inline(t.tokens)}</span> : plain(t.text, key);
    case 'code':
      return (
        <pre key={key}>
          <code>{(t as Tokens.Code).text}</code>
        </pre>
      );
    case 'blockquote':
      return <blockquote key={key}>{blocks((t as Tokens.Blockquote).tokens)}</blockquote>;
    case 'list': {
      const list = t as Tokens.List;
      const items = list.items.map((item, i) => <li key={i}>{blocks(item.tokens)}</li>);
      if (!list.ordered) return <ul key={key}>{items}</ul>;
      const start = typeof list.start === 'number' && list.start !== 1 ? list.start : undefined;
      return (
        <ol key={key} start={start}>
          {items}
        </ol>
      );
    }
    case 'heading':
      // A chat message has no headings: its words, strong.
      return (
        <p key={key}>
          <strong>{inline((t as Tokens.Heading).tokens)}</strong>
        </p>
      );
    case 'space':
    case 'def':
      return null;
    case 'hr':
      return <hr key={key} />;
    default:
      // Raw HTML blocks, tables and the rest: the characters as typed.
      return <p key={key}>{t.raw.replace(/\n+$/, '')}</p>;
  }
}

function blocks(tokens: Token[]): ComponentChildren[] {
  return tokens.map((t, i) => block(t, i));
}

/** A message's text: Markdown as elements, never HTML. One paragraph renders as its inline content only. */
export function Markdown({ text }: { text: string }) {
  const tokens = lexer().lex(text).filter((t) => t.type !== 'space');
  if (tokens.length === 1 && tokens[0].type === 'paragraph') return <>{inline((tokens[0] as Tokens.Paragraph).tokens)}</>;
  return <span class="md">{blocks(tokens)}</span>;
}
