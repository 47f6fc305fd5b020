/**
 * The checks of graphql-cop (dolevf/graphql-cop, the 1.x series: lib/tests/ as of 1.13, plus
 * the circular-fragment check of later versions), reproduced for Node. graphql-cop is a Python
 * tool and PyPI is not reachable from this machine, so each check is written from what the
 * Python check sends and how it decides; nothing here is graphql-cop's code.
 *
 * Every request carries what python-requests sends by default (`Accept: *\/*`,
 * `Accept-Encoding: gzip, deflate`, `Connection: keep-alive`) with graphql-cop's own
 * `User-Agent`. A JSON POST is `{"query": …}` with `Content-Type: application/json`. An answer
 * that is not JSON decides nothing (graphql-cop catches the exception: no finding).
 *
 * | check (severity)                       | sends                                                               | finds an issue when                                   |
 * |----------------------------------------|---------------------------------------------------------------------|-------------------------------------------------------|
 * | Field Suggestions (LOW)                | `query { __schema { directive } }`                                  | the first error's message contains "Did you mean"    |
 * | Introspection (HIGH)                   | `query cop { __schema { types { name fields { name } } } }`         | `data.__schema.types` is present                      |
 * | GraphQL IDE (LOW)                      | GET /graphiql, /playground, /console, /graphql, nothing else        | the body contains graphiql.min.css, GraphQL Playground, GraphiQL or graphql-playground (case-sensitive) |
 * | GET Method Query Support (MEDIUM)      | GET `?query={__typename}`                                           | `data.__typename` is present                          |
 * | Mutation over GET (MEDIUM)             | GET `?query=mutation {__typename}`                                  | `data.__typename` is present                          |
 * | POST url-encoded query (MEDIUM)        | POST `?query=query {__typename}`, no body                           | `data.__typename` is present                          |
 * | Alias Overloading (HIGH)               | 101 aliases of `__typename`                                         | `data.alias100` is present                            |
 * | Batch Queries (HIGH)                   | a JSON array of 11 `query cop { __typename }`                       | the answer is a list of 10 or more                    |
 * | Field Duplication (HIGH)               | `__typename` 500 times                                              | `data.__typename` is present                          |
 * | Directive Overloading (HIGH)           | `__typename` with `@aa` ten times                                   | exactly 10 errors (one per unknown directive)         |
 * | Circular Query via Introspection (HIGH)| types → fields → type → fields … four times                         | `data.__schema.types` has more than 25 entries        |
 * | Trace / Debug Mode (INFO)              | `query cop { __typename }`                                          | `extensions.tracing` or `extensions.exception` (top level or in an error), or "stacktrace" anywhere (any case) |
 * | Unhandled Errors (INFO)                | `qwerty cop { abc }` (a syntax error)                               | an error's `extensions.exception` is present          |
 * | Circular Fragment (HIGH)               | fragments A and B on __Schema spreading each other                  | the answer has no `errors`                            |
 */
import http from 'node:http';

export const COP_USER_AGENT = 'graphql-cop/1.13';

const DEFAULT_HEADERS = {
  'user-agent': COP_USER_AGENT,
  'accept-encoding': 'gzip, deflate',
  accept: '*/*',
  connection: 'keep-alive',
};

export interface CopFinding {
  readonly title: string;
  readonly severity: 'HIGH' | 'MEDIUM' | 'LOW' | 'INFO';
}

interface Answer {
  readonly status: number;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  readonly json: unknown;
}

function request(url: string, method: 'GET' | 'POST', body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const all: Record<string, string | number> = { ...DEFAULT_HEADERS, ...headers };
    if (body !== undefined) all['content-length'] = Buffer.byteLength(body);
    const req = http.request(url, { method, headers: all, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (url: string, payload: unknown) => request(url, 'POST', JSON.stringify(payload), { 'content-type': 'application/json' });
const query = (url: string, q: string) => post(url, { query: q });
const withQuery = (url: string, q: string) => `${url}?query=${encodeURIComponent(q)}`;

/** Reads a path such as ['data', '__schema', 'types'] from a JSON answer. */
function at(json: unknown, ...path: (string | number)[]): unknown {
  let value = json;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

const errorsOf = (json: unknown): Record<string, unknown>[] => {
  const errors = at(json, 'errors');
  return Array.isArray(errors) ? (errors as Record<string, unknown>[]) : [];
};

type Check = (url: string) => Promise<boolean>;

const CHECKS: readonly (CopFinding & { readonly run: Check })[] = [
  {
    title: 'Field Suggestions',
    severity: 'LOW',
    run: async (url) => String(errorsOf((await query(url, 'query { __schema { directive } }')).json)[0]?.message ?? '').includes('Did you mean'),
  },
  {
    title: 'Introspection',
    severity: 'HIGH',
    run: async (url) => at((await query(url, 'query cop { __schema { types { name fields { name } } } }')).json, 'data', '__schema', 'types') !== undefined,
  },
  {
    title: 'GraphQL IDE',
    severity: 'LOW',
    run: async (url) => {
      const origin = new URL(url).origin;
      const markers = ['graphiql.min.css', 'GraphQL Playground', 'GraphiQL', 'graphql-playground'];
      for (const path of ['/graphiql', '/playground', '/console', '/graphql']) {
        const { text } = await request(`${origin}${path}`, 'GET');
        if (markers.some((m) => text.includes(m))) return true;
      }
      return false;
    },
  },
  {
    title: 'GET Method Query Support',
    severity: 'MEDIUM',
    run: async (url) => at((await request(withQuery(url, '{__typename}'), 'GET')).json, 'data', '__typename') !== undefined,
  },
  {
    title: 'Mutation over GET',
    severity: 'MEDIUM',
    run: async (url) => at((await request(withQuery(url, 'mutation {__typename}'), 'GET')).json, 'data', '__typename') !== undefined,
  },
  {
    title: 'POST based url-encoded query (possible CSRF)',
    severity: 'MEDIUM',
    run: async (url) => at((await request(withQuery(url, 'query {__typename}'), 'POST')).json, 'data', '__typename') !== undefined,
  },
  {
    title: 'Alias Overloading',
    severity: 'HIGH',
    run: async (url) => {
      const aliases = Array.from({ length: 101 }, (_, i) => `alias${i}:__typename`).join(' ');
      return at((await query(url, `query { ${aliases} }`)).json, 'data', 'alias100') !== undefined;
    },
  },
  {
    title: 'Batch Queries',
    severity: 'HIGH',
    run: async (url) => {
      const { json } = await post(
        url,
        Array.from({ length: 11 }, () => ({ query: 'query cop { __typename }' })),
      );
      return Array.isArray(json) && json.length >= 10;
    },
  },
  {
    title: 'Field Duplication',
    severity: 'HIGH',
    run: async (url) => at((await query(url, `query cop { ${'__typename '.repeat(500)}}`)).json, 'data', '__typename') !== undefined,
  },
  {
    title: 'Directive Overloading',
    severity: 'HIGH',
    run: async (url) => errorsOf((await query(url, 'query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }')).json).length === 10,
  },
  {
    title: 'Circular Query via Introspection',
    severity: 'HIGH',
    run: async (url) => {
      const q = 'query cop { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }';
      const types = at((await query(url, q)).json, 'data', '__schema', 'types');
      return Array.isArray(types) && types.length > 25;
    },
  },
  {
    title: 'Trace Mode',
    severity: 'INFO',
    run: async (url) => {
      const { json, text } = await query(url, 'query cop { __typename }');
      const extensions = [at(json, 'extensions'), ...errorsOf(json).map((e) => e.extensions)];
      const traced = extensions.some((x) => at(x, 'tracing') !== undefined || at(x, 'exception') !== undefined);
      return traced || text.toLowerCase().includes('stacktrace');
    },
  },
  {
    title: 'Unhandled Errors Detection',
    severity: 'INFO',
    run: async (url) => errorsOf((await query(url, 'qwerty cop { abc }')).json).some((e) => at(e, 'extensions', 'exception') !== undefined),
  },
  {
    title: 'Circular Fragment',
    severity: 'HIGH',
    run: async (url) => {
      const { json } = await query(url, 'query { __schema { ...A } } fragment A on __Schema { __typename ...B } fragment B on __Schema { ...A }');
      return json !== undefined && at(json, 'errors') === undefined;
    },
  },
];

/** Every check graphql-cop would run against the GraphQL endpoint at `url`, and the issues found (in the table's order). */
export async function runGraphqlCop(url: string): Promise<CopFinding[]> {
  const findings: CopFinding[] = [];
  for (const check of CHECKS) if (await check.run(url)) findings.push({ title: check.title, severity: check.severity });
  return findings;
}

/** The number of checks run. */
export const COP_CHECKS = CHECKS.length;
