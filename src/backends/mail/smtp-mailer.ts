import nodemailer, { type Transporter } from 'nodemailer';
import type { Mailer, MailMessage } from '../../core/notifications/ports.js';

/** E-mail through an SMTP server (SMTP_URL: `smtp://user:pass@host:587`, `smtps://…:465`), from MAIL_FROM. */
export class SmtpMailer implements Mailer {
  readonly #transport: Transporter;

  constructor(
    smtpUrl: string,
    readonly from: string,
  ) {
    this.#transport = nodemailer.createTransport(smtpUrl);
  }

  async send(mail: MailMessage): Promise<void> {
    // Rejects when the server refuses the e-mail: the digest then keeps it for the next tick.
    await this.#transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers: mail.headers });
  }

  close(): void {
    this.#transport.close();
  }
}
