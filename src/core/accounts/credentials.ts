import { refusal } from '../errors.js';

// What an e-mail and a password must be, shared by registration, invites and password changes.

export const EMAIL = /^[^\s@]+@[^\s@]+$/;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** Also the rule for a changed or reset password. */
export function validNewPassword(password: string): void {
  if (password.length < 8) throw refusal('password_too_short', { min: 8 });
}

/** Whether a normalized address looks like an e-mail and fits the column. */
export const validEmail = (email: string) => EMAIL.test(email) && email.length <= 320;
