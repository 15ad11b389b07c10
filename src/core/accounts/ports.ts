// What the accounts service needs from libraries it does not call itself: a password hash
// (src/backends/accounts/argon2-password-hasher.ts) and signed tokens
// (src/backends/accounts/jose-token-signer.ts). The core keeps the rules around them: how
// many hashes run at once (passwords.ts) and what a verified token means for a user.
import type { User } from '../model.js';

/** One password hash and its check, each a slow call the caller bounds. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password or a stored hash this hasher does not read. */
  verify(stored: string, password: string): Promise<boolean>;
}

/** What a verified token says. */
export type TokenClaims =
  | { source: 'parley'; userUuid: string; tenantUuid: string; version: number }
  | { source: 'external'; issuer: string; subject: string; email: string | null; name: string | null; tenant: string | null };

/** Issues Parley's own tokens and verifies them, and those of a configured identity provider. */
export interface TokenSigner {
  /** A token naming the user, its tenant and its token version (a logout bumps the version). */
  issue(user: User): Promise<string>;
  /** The claims, or null for any token that is not valid now. */
  verify(token: string): Promise<TokenClaims | null>;
}
