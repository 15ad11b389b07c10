import type { Transporter } from 'nodemailer';
import type { Mailer, MailMessage } from '../../core/notifications/ports.js';

/**
 * E-mail through an SMTP server (SMTP_URL: `smtp://user:pass@host:587`, `smtps://…:465`), from
 * MAIL_FROM. nodemailer is loaded with the first e-mail, not at start (as sharp is with the
 * first image): digests go out minutes after a start, if ever.
 */
export class SmtpMailer implements Mailer {
  #transport: Promise<Transporter> | null = null;
  readonly #smtpUrl: string;

  constructor(
    smtpUrl: string,
    readonly from: string,
  ) {
    this.#smtpUrl = smtpUrl;
  }

  #transporter(): Promise<Transporter> {
    return (this.#transport ??= import('nodemailer').then((m) => m.default.createTransport(this.#smtpUrl)));
  }

  async send(mail: MailMessage): Promise<void> {
    // Rejects when the server refuses the e-mail: the digest then keeps it for the next tick.
    await (await this.#transporter()).sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers: mail.headers });
  }

  close(): void {
    void this.#transport?.then((t) => t.close());
  }
}
