import { hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from '../../core/accounts/ports.js';

/**
 * argon2id with the library's defaults. Each call holds a thread of libuv's pool: the core's
 * `Passwords` bounds how many run at once.
 */
export class Argon2PasswordHasher implements PasswordHasher {
  hash(password: string): Promise<string> {
    return hash(password);
  }

  verify(stored: string, password: string): Promise<boolean> {
    // A stored value that is not an argon2 hash is a wrong password, not an error.
    return verify(stored, password).catch(() => false);
  }
}
