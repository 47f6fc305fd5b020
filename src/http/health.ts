/** Load-balancer probes: /healthz (process alive) and /readyz (databases reachable and migrated). */
import type { FastifyInstance } from 'fastify';
import type { SystemService } from '../services/system.ts';

export function registerHealthRoutes(app: FastifyInstance, system: SystemService): void {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'alive' }));
  app.get('/readyz', async (_request, reply) => {
    const { ready, problems } = await system.ready();
    return reply
      .status(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(ready ? { status: 'ready' } : { status: 'not ready', problems });
  });
}
