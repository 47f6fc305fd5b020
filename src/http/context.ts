/**
 * The per-request context (src/context.ts) as the /graphql route builds it: the client's abort
 * signal and a child logger made on first use, the caller resolved only when an operation is
 * about to run, and a per-request memo.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import { ANONYMOUS, type Caller } from '../services/auth/caller.ts';
import type { Services } from '../services/index.ts';

/** Follows the client: aborts when the response closes before it was sent in full. */
function clientSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  const onClose = () => {
    if (!response.writableFinished) controller.abort(new Error('client disconnected'));
  };
  // Made on first use (see RequestContext), possibly after the client has already gone.
  if (response.closed) onClose();
  else response.once('close', onClose);
  return controller.signal;
}

/**
 * The parts of a context made only when first needed: most operations use neither the signal
 * nor the logger, and on small queries their cost per request was measurable; the caller is
 * resolved only once the operation is about to run (see {@link authenticate}). Shared
 * between a context and Apollo's copies of it, so a batch resolves its caller once.
 */
class LazyParts {
  private signal: AbortSignal | undefined;
  private log: Logger | undefined;
  private resolving: Promise<Caller> | undefined;
  caller: Caller | undefined;
  memo: Map<string, Promise<unknown>> | undefined;
  constructor(
    private readonly reply: FastifyReply,
    private readonly logger: Logger,
    private readonly requestId: string,
    private readonly services: Services,
    private readonly authorization: string | undefined,
  ) {}
  getSignal(): AbortSignal {
    return (this.signal ??= clientSignal(this.reply));
  }
  getLog(): Logger {
    return (this.log ??= this.logger.child({ requestId: this.requestId }));
  }
  /** Resolves the caller once; undefined when it is already known (no header: anonymous, without a promise). */
  resolveCaller(): Promise<Caller> | undefined {
    if (this.caller !== undefined) return undefined;
    // The auth service answers a missing header with ANONYMOUS too; deciding it here spares
    // the common anonymous request a promise and its microtasks.
    if (!this.authorization) {
      this.caller = ANONYMOUS;
      return undefined;
    }
    this.resolving ??= this.services.auth.resolveCaller(this.authorization).then((caller) => (this.caller = caller));
    return this.resolving;
  }
}

/**
 * The per-request {@link Context}. A class, with `signal`, `log` and `caller` as getters on its
 * prototype: Apollo copies the context for each operation with `Object.assign`, which would
 * call getters defined on the object itself (making the signal and the child logger for
 * every request); it copies own fields only, and the copy keeps the prototype.
 */
class RequestContext implements Context {
  constructor(
    readonly requestId: string,
    readonly ip: string,
    readonly startedAt: number,
    readonly services: Services,
    private readonly lazy: LazyParts,
  ) {}
  get signal(): AbortSignal {
    return this.lazy.getSignal();
  }
  get log(): Logger {
    return this.lazy.getLog();
  }
  get caller(): Caller {
    const caller = this.lazy.caller;
    if (caller === undefined) throw new TypeError('the caller was read before the request was authenticated (see authenticate)');
    return caller;
  }
  /** Resolves the caller from the Authorization header, once per HTTP request; undefined when nothing needs awaiting. */
  authenticate(): Promise<Caller> | undefined {
    return this.lazy.resolveCaller();
  }
  once<T>(key: string, load: () => Promise<T>): Promise<T> {
    const memo = (this.lazy.memo ??= new Map());
    let value = memo.get(key) as Promise<T> | undefined;
    if (value === undefined) memo.set(key, (value = load()));
    return value;
  }
}

/**
 * Resolves the caller (token verification and the session lookup in the auth database) of a
 * context made by {@link contextFor}. Our execution step calls it just before it executes:
 * after parsing, validation, the GraphQL limits and admission, so that a request refused by
 * any of them costs no database query. Undefined when nothing needs awaiting.
 */
export function authenticate(context: Context): Promise<unknown> | undefined {
  return context instanceof RequestContext ? context.authenticate() : undefined;
}

/**
 * The per-request context function. Exported so the benchmark's default-Apollo baseline
 * builds exactly the same context for the same resolvers; a server without our execution
 * step (that baseline), which calls {@link authenticate}, passes `authenticateUpFront`.
 */
export function contextFor(services: Services, logger: Logger, options: { readonly authenticateUpFront?: boolean } = {}) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<Context> => {
    const startedAt = performance.now();
    const context = new RequestContext(
      request.id,
      request.ip,
      startedAt,
      services,
      new LazyParts(reply, logger, request.id, services, request.headers.authorization),
    );
    if (options.authenticateUpFront) await context.authenticate();
    return context;
  };
}
