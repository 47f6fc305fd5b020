/** `GET /.well-known/jwks.json`: the public keys that verify access tokens (RFC 7517), retired ones included until their tokens expire. */
import type { FastifyInstance } from 'fastify';
import type { AuthService } from '../services/auth/index.ts';

export function registerJwksRoute(app: FastifyInstance, auth: AuthService): void {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    const jwks = await auth.jwks();
    return reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(jwks);
  });
}
