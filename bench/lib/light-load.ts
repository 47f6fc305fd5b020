/**
 * Open-loop load generator for benchmarks, run as its own process so that a blocked server
 * shows up as latency rather than as fewer requests: sends one POST every 1/rate s,
 * whatever the answers, and prints every latency (ms) as a JSON array on stdout.
 *
 *   node --import tsx bench/lib/light-load.ts '{"url":"http://127.0.0.1:4000","rate":100,"seconds":5,"body":"{…}"}'
 */
import http from 'node:http';

export interface LoadJob {
  readonly url: string;
  readonly rate: number;
  readonly seconds: number;
  /** JSON body posted to /graphql. */
  readonly body: string;
}

async function generate({ url, rate, seconds, body }: LoadJob): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL('/graphql', url);
  const latencies: number[] = [];
  const send = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = http.request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`the query answered HTTP ${res.statusCode}`));
            latencies.push(performance.now() - started);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const inFlight: Promise<void>[] = [];
  const total = Math.round(rate * seconds);
  const begin = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = begin + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(send());
  }
  await Promise.all(inFlight);
  agent.destroy();
  return latencies;
}

process.stdout.write(`${JSON.stringify(await generate(JSON.parse(process.argv[2]!) as LoadJob))}\n`);
