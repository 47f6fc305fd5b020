/**
 * The GraphQL limits (README "GraphQL limits"): what a request may ask for before anything of
 * it runs. Refusals are QUERY_LIMIT_EXCEEDED with `extensions.limit` (which one), `max` (the
 * configured limit) and, where it was counted, `value` (at least this much).
 *
 * Where each is enforced, and why there:
 * - tokens: graphql-js `parse` stops at `maxTokens` (Apollo's `parseOptions`), so an oversized
 *   document is never even fully parsed;
 * - batch: the HTTP handler looks at the body before Apollo (src/http/graphql.ts);
 * - everything else: {@link queryLimitsRule}, a validation rule whose check runs when graphql-js
 *   enters the Document node, before any other rule has looked at a selection. Over a limit it
 *   reports one error and ends the validation walk there, so graphql-js's costly rules
 *   (OverlappingFieldsCanBeMerged is super-linear in repeated fields) never see the document.
 *   Apollo caches only documents that validated, keyed by their hash, so a document that passed
 *   is never measured again: on the hot path the limits cost nothing.
 */
import { GraphQLError, type ValidationRule } from 'graphql';
import type { Config } from '../config.ts';
import { StrongroomError } from '../errors.ts';
import { analyseDocument, type AnalysisLimits, type LimitExceeded, type LimitName } from './analysis.ts';

/** Every configurable limit (src/config.ts, GRAPHQL_*). */
export interface QueryLimits extends Omit<AnalysisLimits, 'maxSteps'> {
  /** Tokens a document may have (graphql-js `parse` `maxTokens`). */
  readonly maxTokens: number;
  /** Operations in one HTTP request; 1 turns batching off (a JSON array body is refused). */
  readonly maxBatch: number;
}

/** The limits as configured (GRAPHQL_* variables). */
export function queryLimitsFrom(config: Config): QueryLimits {
  return {
    maxDepth: config.graphqlMaxDepth,
    maxAliases: config.graphqlMaxAliases,
    maxDirectives: config.graphqlMaxDirectives,
    maxTokens: config.graphqlMaxTokens,
    maxFragmentSpreads: config.graphqlMaxFragmentSpreads,
    maxDuplicateFields: config.graphqlMaxDuplicateFields,
    maxCost: config.graphqlMaxCost,
    defaultListSize: config.graphqlDefaultListSize,
    maxIntrospectionLists: config.graphqlMaxIntrospectionLists,
    maxBatch: config.graphqlMaxBatch,
  };
}

/** Steps the analysis may take per token allowed: each token is at most a few nodes and merged names. */
const STEPS_PER_TOKEN = 8;

/** The limits the document analysis checks, with its work capped in proportion to the token limit. */
export function analysisLimits(limits: QueryLimits): AnalysisLimits {
  return { ...limits, maxSteps: STEPS_PER_TOKEN * limits.maxTokens + 100 };
}

const MESSAGES: Readonly<Record<LimitName | 'tokens' | 'batch', (max: number) => string>> = {
  depth: (max) => `The query nests fields more than ${max} levels deep.`,
  aliases: (max) => `The query has more than ${max} aliases (a fragment's count at every spread).`,
  directives: (max) => `A selection in the query carries more than ${max} directives.`,
  fragmentSpreads: (max) => `The query spreads fragments more than ${max} times (every use counts).`,
  duplicateFields: (max) => `The query selects fields it already selected more than ${max} times.`,
  cost: (max) => `The query's estimated cost is over ${max} (1 per field, times the list sizes above it).`,
  introspectionLists: (max) => `The introspection query nests lists more than ${max} deep.`,
  analysisSteps: () => 'The query is too large to analyse.',
  tokens: (max) => `The query has more than ${max} tokens.`,
  batch: (max) => (max <= 1 ? 'Batched requests are not accepted: send one operation per request.' : `A batched request may hold at most ${max} operations.`),
};

/** A request over one of the GraphQL limits; refused before anything of it ran (HTTP 400). */
export class QueryLimitError extends StrongroomError {
  constructor(
    readonly limit: LimitName | 'tokens' | 'batch',
    max: number,
    value?: number,
  ) {
    super('QUERY_LIMIT_EXCEEDED', MESSAGES[limit](max), { limit, max, ...(value === undefined ? {} : { value }) });
    this.name = 'QueryLimitError';
  }
}

/** The error for what {@link analyseDocument} found. */
export const limitError = (exceeded: LimitExceeded): QueryLimitError => new QueryLimitError(exceeded.limit, exceeded.max, exceeded.value);

/**
 * Validation rule checking every limit but tokens and batch, as described above. Must come in
 * Apollo's `validationRules` (after graphql-js's own rules, whose Document visitors are linear).
 */
export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  const analysis = analysisLimits(limits);
  return (context) => ({
    Document: {
      enter(document) {
        const { exceeded } = analyseDocument(context.getSchema(), document, analysis);
        if (!exceeded) return undefined;
        context.reportError(limitError(exceeded));
        // graphql-js's visitor API: a visitor returning null removes the node, and visit()
        // does not descend into a removed node; visitInParallel stops offering the node to
        // later rules. For the Document that ends the walk: no rule sees any selection.
        // validate() ignores the edited tree and returns the errors reported.
        return null;
      },
    },
  });
}

/**
 * Refuses `__schema` and `__type` when introspection is off. Apollo's own rule does the same,
 * but its message names Apollo Server and how to configure it.
 */
export const noIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    const name = node.name.value;
    if (name === '__schema' || name === '__type') {
      context.reportError(new GraphQLError('Introspection is turned off on this server.', { nodes: [node] }));
    }
  },
});

/** graphql-js's message when `parse` stops at `maxTokens` (graphql 16 Parser.advanceLexer; 16.x spells it "more that"). */
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

/** The limit error for a parse error that is graphql-js stopping at `maxTokens`, else undefined. */
export function tokensLimitError(parseErrorMessage: string): QueryLimitError | undefined {
  const m = TOO_MANY_TOKENS.exec(parseErrorMessage);
  return m ? new QueryLimitError('tokens', Number(m[1])) : undefined;
}

/** The limit error for an HTTP body holding `operations` operations (a JSON array), or undefined when it may run. */
export function batchLimitError(operations: number, maxBatch: number): QueryLimitError | undefined {
  return maxBatch <= 1 || operations > maxBatch ? new QueryLimitError('batch', maxBatch, operations) : undefined;
}
