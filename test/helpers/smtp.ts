/**
 * A real SMTP server inside the test process (smtp-server): the API delivers to it over
 * TCP with AUTH, and tests read what arrived.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  readonly to: string[];
  readonly subject: string;
  /** The whole message with quoted-printable soft breaks and escapes undone. */
  readonly body: string;
}

export interface TestMailServer {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedMail[];
  /** Resolves with the first mail (already received or arriving) to `to` whose subject matches, not yet taken. */
  next(to: string, subject: RegExp, timeoutMs?: number): Promise<ReceivedMail>;
  /** The sign-in code from the next code mail to `to`. */
  code(to: string): Promise<string>;
  close(): Promise<void>;
}

export const SMTP_USER = 'strongroom';
export const SMTP_PASSWORD = 'mail-secret';

function decode(raw: string): { subject: string; body: string } {
  const unfolded = raw.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/im.exec(unfolded)?.[1]?.trim() ?? '';
  const body = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return { subject, body };
}

/** Starts the server on 127.0.0.1; `port` reuses a port (to bring a "failed" server back). */
export async function startMailServer(port = 0): Promise<TestMailServer> {
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const { subject, body } = decode(Buffer.concat(chunks).toString('utf8'));
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), subject, body });
        for (const w of waiters.splice(0)) w();
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.server.address() as AddressInfo).port;
  const find = (to: string, subject: RegExp) => received.find((m) => !taken.has(m) && m.to.includes(to) && subject.test(m.subject));
  const api: TestMailServer = {
    url: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${actual}`,
    port: actual,
    received,
    next(to, subject, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no mail to ${to} matching ${subject} within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          const mail = find(to, subject);
          if (mail) {
            taken.add(mail);
            clearTimeout(timer);
            resolve(mail);
          } else waiters.push(check);
        };
        check();
      });
    },
    async code(to) {
      const mail = await api.next(to, /sign-in code/);
      const code = /Your code is:?\s*(?:<[^>]*>\s*)*(\d{6,8})/.exec(mail.body)?.[1];
      if (!code) throw new Error(`no code in the mail to ${to}`);
      return code;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return api;
}
