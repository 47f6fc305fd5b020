/**
 * HTTP-level failures (before GraphQL runs) answered as GraphQL-shaped JSON with a code,
 * so a client has one error format to read whatever went wrong, and never Fastify's or
 * Node's own wording, error codes or a stack trace.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
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
  STRONGROOM_JSON_TOO_DEEP: { status: 400, code: 'BAD_REQUEST', message: 'The request body nests arrays and objects too deep (BODY_MAX_DEPTH).' },
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

/**
 * Fastify constructor options for what happens before a route is found: a URL that does not
 * decode or a parameter over the length limit (`frameworkErrors`, whose default answer echoes
 * the URL and Fastify's internal code), and a request Node's HTTP parser rejects, such as
 * oversized headers (`clientErrorHandler`).
 */
export const fastifyErrorOptions: Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> = {
  frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
    const clientsFault = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
    void reply
      .status(clientsFault ? 400 : 500)
      .type('application/json')
      .send(clientsFault ? errorBody('BAD_REQUEST', 'The request URL is malformed.') : errorBody('INTERNAL_SERVER_ERROR', 'Something went wrong on our side.'));
  },
  clientErrorHandler(error: Error & { code?: string }, socket: Socket) {
    // A reset connection has nobody to answer (as Fastify's own handler does).
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const message =
      status === 408 ? 'The request took too long to arrive.' : status === 431 ? 'The request headers are too large.' : 'The request is malformed.';
    const body = JSON.stringify(errorBody('BAD_REQUEST', message));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  },
};
