/**
 * JSON request bodies, as Fastify parses them (secure-json-parse: `__proto__` and
 * `constructor.prototype` refused), after one check of our own: how deep arrays and objects
 * nest. `JSON.parse` is linear, but deeply nested text costs several times more per byte than
 * flat text (about 160 ms for 800 KB of `[[[…]]]` here, against 40 ms for 800 KB of `[],[],…`),
 * and nothing a GraphQL client sends nests more than a few levels. The check is one pass over
 * the characters, strings skipped, and stops at the first level past the limit.
 */
import type { FastifyInstance } from 'fastify';

/** Fastify-style error for a body nested past the limit; src/http/errors.ts answers it with BAD_REQUEST. */
export class JsonTooDeepError extends Error {
  readonly code = 'STRONGROOM_JSON_TOO_DEEP';
  readonly statusCode = 400;
  constructor(readonly maxDepth: number) {
    super(`The request body nests arrays and objects more than ${maxDepth} levels deep.`);
    this.name = 'JsonTooDeepError';
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * True when `text` (JSON, valid or not) opens more than `maxDepth` arrays and objects inside
 * one another. Whether it is valid JSON is JSON.parse's to say.
 */
export function jsonNestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** Replaces Fastify's application/json parser with the same parser behind the nesting check. */
export function registerJsonBodyParser(app: FastifyInstance, options: { readonly maxDepth: number }): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonNestsDeeperThan(text, options.maxDepth)) {
      done(new JsonTooDeepError(options.maxDepth), undefined);
      return;
    }
    parse(request, text, done);
  });
}
