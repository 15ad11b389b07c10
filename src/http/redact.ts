/**
 * Query parameters whose values never reach the logs, matched on the name as the query
 * parser sees it (percent-decoded, `+` as a space) and case-insensitively: Fastify decodes
 * `?%74oken=` to `token`, so redacting only the literal spelling let a token through. Tokens
 * (`token`, `access_token`, any `…token…`), and the signature and expiry of signed file links
 * (`sig`, `exp`: a link is a capability until it expires).
 */
const SECRET_NAME = /token|password|secret|^sig$|^signature$|^exp$/;

function decodedName(raw: string): string {
  const name = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name).toLowerCase();
  } catch {
    // What the parser keeps when a name does not decode: the name as written.
    return name.toLowerCase();
  }
}

/** An incoming webhook's URL (`…/hooks/{id}/{secret}`, issue 19) is its capability: the secret part never reaches the logs. */
const HOOK_SECRET = /(\/hooks\/[^/?]*\/)[^?]*/i;

/** The URL as logged: an incoming webhook's secret and the value of every secret query parameter replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  url = url.replace(HOOK_SECRET, '$1[redacted]');
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url.slice(q + 1).split('&');
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    const name = eq < 0 ? parts[i] : parts[i].slice(0, eq);
    if (SECRET_NAME.test(decodedName(name))) parts[i] = `${name}=[redacted]`;
  }
  return url.slice(0, q + 1) + parts.join('&');
}
