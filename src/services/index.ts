/** All services, built once per process from long-lived resources. Resolvers reach them through the context. */
import type { Config } from '../config.ts';
import type { Databases } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import path from 'node:path';
import { createMailTransport, type MailTransport } from '../mail/transport.ts';
import { createAuthService, type AuthService } from './auth/index.ts';
import { createSystemService, type SystemService } from './system.ts';

export interface Services {
  readonly system: SystemService;
  readonly auth: AuthService;
  readonly mail: MailTransport;
  /** Closes what the services opened themselves (Redis, SMTP pools). */
  close(): Promise<void>;
}

export interface ServiceDeps {
  readonly config: Config;
  readonly databases: Databases;
  readonly logger: Logger;
  /** The clock; tests pass a frozen one. Default: the system clock. */
  readonly now?: () => Date;
}

export function createServices(deps: ServiceDeps): Services {
  const { config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const mail = createMailTransport({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    outboxDir: path.join(config.dataDir, 'outbox'),
    timeoutMs: config.smtpTimeoutMs,
  });
  const auth = createAuthService({ config, db: deps.databases.auth.db, logger: logger.child({ component: 'auth' }), mail, now });
  return {
    system: createSystemService(deps.databases),
    auth,
    mail,
    async close() {
      mail.close();
      await auth.close();
    },
  };
}
