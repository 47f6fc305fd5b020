/**
 * Admission by cost: before an operation executes, estimate its heavy cost from `@cost`;
 * when the worker pool's queue is saturated, refuse the whole operation with SERVER_BUSY
 * (HTTP 503 with Retry-After) before any resolver runs, so a client never gets half an
 * answer and no light work is spent on an operation that would be refused anyway.
 * Operations with no heavy field are always admitted.
 */
import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestListener } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { Context } from '../context.ts';
import { costTable, documentCosts } from '../directives/cost.ts';
import { ServerBusyError } from '../errors.ts';
import type { PoolStats } from '../workers/pool.ts';

export interface AdmissionOptions {
  readonly schema: GraphQLSchema;
  readonly pool: { stats(): PoolStats; retryAfterSeconds(): number };
  /** Waiting tasks past which a costed operation is refused (WORKER_QUEUE_HIGH_WATER). */
  readonly highWater: number;
}

/** The rule, on its own: refuse when the cost would take the queue past the mark, unless nothing waits (so a large operation is never starved). */
export function admits(cost: number, queued: number, highWater: number): boolean {
  return cost === 0 || queued === 0 || queued + cost <= highWater;
}

export function admissionPlugin(options: AdmissionOptions): ApolloServerPlugin<Context> {
  const table = costTable(options.schema);
  // Apollo caches parsed documents, so the same DocumentNode comes back for a repeated query:
  // each distinct document is measured once.
  const costs = new WeakMap<DocumentNode, ReadonlyMap<OperationDefinitionNode, number>>();
  const costOf = (document: DocumentNode, operation: OperationDefinitionNode): number => {
    let perOperation = costs.get(document);
    if (!perOperation) costs.set(document, (perOperation = documentCosts(options.schema, document, table)));
    return perOperation.get(operation) ?? 0;
  };
  // One listener for every request: it keeps no per-request state.
  const listener: GraphQLRequestListener<Context> = {
    async didResolveOperation({ document, operation }) {
      if (table.size === 0 || !operation) return;
      const cost = costOf(document, operation);
      if (cost === 0) return; // the usual case: nothing heavy, no need to ask the pool
      const { queued } = options.pool.stats();
      if (admits(cost, queued, options.highWater)) return;
      const retryAfter = options.pool.retryAfterSeconds();
      const error = new ServerBusyError(
        retryAfter,
        'The server is busy with heavy work; this operation was not started. Retry after extensions.retryAfter seconds.',
      );
      error.extensions.cost = cost;
      error.extensions.http = { status: 503, headers: new HeaderMap([['retry-after', String(retryAfter)]]) };
      throw error;
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}
