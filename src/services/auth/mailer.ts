/**
 * Mail the auth flows send. A flow sends it only after its transaction has committed, so no
 * mail ever tells of a change (or carries a code) that was rolled back; a mail server that
 * fails then leaves the change standing: the failure is logged (without the message) and the
 * caller says what it means (a challenge's `delivery: FAILED`, answered by resendSignInCode).
 */
import { describeForLog } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { Mail, MailTransport } from '../../mail/transport.ts';

export interface Mailer {
  /** Sends one mail; false (and a log line naming `kind` and `refs`) when the server refuses it. */
  deliver(kind: string, refs: Readonly<Record<string, string>>, message: Mail): Promise<boolean>;
}

export function createMailer(mail: MailTransport, logger: Logger): Mailer {
  return {
    async deliver(kind, refs, message) {
      try {
        await mail.send(message);
        return true;
      } catch (err) {
        logger.warn({ ...refs, mail: kind, transport: mail.description, ...describeForLog(err) }, 'mail delivery failed');
        return false;
      }
    },
  };
}
