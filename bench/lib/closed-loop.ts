/**
 * Closed-loop load for benchmarks, in its own process: `clients` concurrent clients each post
 * `body` to /graphql, wait for the answer and post again, for `seconds`. Prints
 * `{"requests": n, "failures": n}` as JSON on stdout.
 *
 *   node --import tsx bench/lib/closed-loop.ts '{"url":"http://127.0.0.1:4000","clients":8,"seconds":5,"body":"{…}","headers":{}}'
 */
import http from 'node:http';

export interface ClosedLoopJob {
  readonly url: string;
  readonly clients: number;
  readonly seconds: number;
  /** JSON body posted to /graphql. */
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

async function run({ url, clients, seconds, body, headers = {} }: ClosedLoopJob): Promise<{ requests: number; failures: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const target = new URL('/graphql', url);
  const until = performance.now() + seconds * 1000;
  let requests = 0;
  let failures = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = http.request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => {
            requests++;
            if (res.statusCode !== 200 || text.includes('"errors"')) failures++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failures++;
        resolve();
      });
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) await once();
    }),
  );
  agent.destroy();
  return { requests, failures };
}

process.stdout.write(`${JSON.stringify(await run(JSON.parse(process.argv[2]!) as ClosedLoopJob))}\n`);
