/**
 * HTTP load with autocannon's programmatic API, run in the benchmark's own process (servers
 * under test run in child processes: see child.ts).
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  /** Full URL, e.g. http://127.0.0.1:41234/graphql. */
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Concurrent keep-alive connections; default 10. */
  readonly connections?: number;
  /** Seconds of load. */
  readonly durationSeconds: number;
  /** Requests in flight per connection; default 1 (no pipelining, as browsers and most clients). */
  readonly pipelining?: number;
}

export interface LoadResult {
  /** Completed requests divided by the measured duration. */
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly durationSeconds: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

/**
 * Runs one burst of load. Throws when any request failed (socket error, timeout or non-2xx):
 * a throughput figure of error responses would measure the wrong thing.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: { ...options.headers },
    body: options.body,
    connections: options.connections ?? 10,
    pipelining: options.pipelining ?? 1,
    duration: options.durationSeconds,
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`load on ${options.url} had failures: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`);
  }
  if (result.requests.total === 0) throw new Error(`load on ${options.url} completed no request`);
  return {
    requestsPerSecond: result.requests.total / result.duration,
    requests: result.requests.total,
    durationSeconds: result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

/** Shorthand for a GraphQL POST of `query` with the headers a real client sends. */
export function graphqlLoad(url: string, query: string, options: Omit<LoadOptions, 'url' | 'method' | 'body' | 'headers'>): LoadOptions {
  return {
    ...options,
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query }),
  };
}
