/**
 * Where mail goes: an SMTP server (nodemailer; `smtp://` upgrades with STARTTLS when the
 * server offers it, `smtps://` is TLS from the start), or — with no SMTP configured — `.eml`
 * files in an outbox folder that any mail client opens.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { ensurePrivateDir, writePrivateFile } from '../fs/private.ts';

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailTransport {
  /** `smtp://host:port` (never the credentials) or the outbox folder. */
  readonly description: string;
  /** Resolves once the server (or the disk) has the message; rejects when it does not. */
  send(mail: Mail): Promise<void>;
  close(): void;
}

export interface MailSettings {
  readonly smtpUrl: string | undefined;
  readonly from: string;
  readonly outboxDir: string;
  readonly timeoutMs: number;
}

export function createMailTransport(settings: MailSettings): MailTransport {
  if (settings.smtpUrl) {
    const url = new URL(settings.smtpUrl);
    const transporter = nodemailer.createTransport({
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
      secure: url.protocol === 'smtps:',
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
    return {
      description: `${url.protocol}//${url.host}`,
      async send(mail) {
        await transporter.sendMail({ from: settings.from, ...mail });
      },
      close: () => transporter.close(),
    };
  }
  // Builds the same RFC 5322 message nodemailer would send, and writes it to a file.
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    description: settings.outboxDir,
    async send(mail) {
      const info = await builder.sendMail({ from: settings.from, ...mail });
      // Mail holds sign-in codes: the folder and each file are private (0700, 0600).
      await ensurePrivateDir(settings.outboxDir);
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.eml`;
      await writePrivateFile(path.join(settings.outboxDir, name), info.message as Buffer, { exclusive: true });
    },
    close: () => builder.close(),
  };
}
