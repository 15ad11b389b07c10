import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** An SMTP server on loopback that keeps every e-mail it is given, parsed. */
export interface LocalSmtp {
  readonly url: string;
  readonly mails: ParsedMail[];
  /** Refuse (550) every e-mail while true. */
  refusing: boolean;
  close(): Promise<void>;
}

export async function startLocalSmtp(): Promise<LocalSmtp> {
  const mails: ParsedMail[] = [];
  const state = { refusing: false };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          if (state.refusing) return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
          mails.push(mail);
          callback();
        },
        (e) => callback(e),
      );
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    get refusing() {
      return state.refusing;
    },
    set refusing(v: boolean) {
      state.refusing = v;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
