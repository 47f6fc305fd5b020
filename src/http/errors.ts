/**
 * HTTP-level failures (before GraphQL runs) answered as GraphQL-shaped JSON with a code,
 * so a client has one error format to read whatever went wrong.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { describeForLog, type ErrorCode } from '../errors.ts';

/** Fastify's own error codes mapped to ours, with the status to answer. */
const FASTIFY_ERRORS: Readonly<Record<string, { status: number; code: ErrorCode; message: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'BAD_REQUEST', message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'BAD_REQUEST', message: 'The request body is empty.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than the server accepts.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'BAD_REQUEST',
    message: 'Unsupported Content-Type; send application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST', message: 'Content-Length does not match the body.' },
};

export function errorBody(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { ...extensions, code } }] };
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // Fastify's JSON parser throws a bare SyntaxError (status 400) for a malformed body.
    const code = error instanceof SyntaxError && error.statusCode === 400 ? 'FST_ERR_CTP_INVALID_JSON_BODY' : error.code;
    const known = code ? FASTIFY_ERRORS[code] : undefined;
    if (known) {
      return reply.status(known.status).type('application/json').send(errorBody(known.code, known.message));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).type('application/json').send(errorBody('BAD_REQUEST', 'The request is malformed.'));
    }
    const correlationId = request.id;
    request.log.error({ correlationId, ...describeForLog(error) }, 'unexpected HTTP error');
    return reply
      .status(500)
      .type('application/json')
      .send(errorBody('INTERNAL_SERVER_ERROR', 'Something went wrong on our side.', { correlationId }));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/json')
      .send(errorBody('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`)),
  );
}
