/**
 * Trivial-query throughput: our server against a default Apollo-on-Fastify server with the
 * same schema, resolvers and services (bench/lib/servers/default-apollo.ts).
 *
 * Each server runs in its own child process on 127.0.0.1; autocannon runs here. After a
 * warm-up of each, every round loads each server in turn, in an order that rotates and
 * reverses from round to round, so drift in the machine's load falls on all alike. The figure
 * per server is the median of its rounds. Two reference servers are measured in the same
 * rounds and printed beside the BENCH lines: `apollo-minimum` (Apollo with nothing of ours but
 * the execution step: the most that tuning Apollo can give) and `fastify-floor` (a route
 * that runs nothing: sockets, HTTP and body parsing alone).
 *
 * Alongside throughput, each server process reports the CPU time it spent per request during
 * the measured rounds (user + system, from process.cpuUsage() in the child). Throughput on a
 * shared machine moves with everyone else's load; CPU per request moves much less.
 *
 * Metrics (requests per second, and server CPU microseconds per request, lower is better):
 *   trivial-query-rps, trivial-query-cpu    `{ health { status } }`: the metric
 *   typename-query-rps, typename-query-cpu  `{ __typename }`: no resolver of ours at all, so
 *                                           it isolates the framework's overhead
 *
 * Options: --duration=5 --rounds=3 --warmup=3 --connections=10 --cpu-prof-dir=DIR
 */
import path from 'node:path';
import { startServerProcess, type ServerProcess } from './lib/child.ts';
import { graphqlLoad, runLoad } from './lib/load.ts';
import { benchOptions } from './lib/options.ts';
import { printBenchLine } from './lib/report.ts';
import { median } from './lib/stats.ts';

const QUERIES = [
  { metric: 'typename-query', query: '{ __typename }', expected: { data: { __typename: 'Query' } } },
  { metric: 'trivial-query', query: '{ health { status } }', expected: { data: { health: { status: 'OK' } } } },
] as const;

const options = benchOptions();
const here = import.meta.dirname;
// Both sides see NODE_ENV=production, which is also what Apollo's own defaults read.
const childOptions = { cpuProfileDir: options.cpuProfileDir, env: { NODE_ENV: 'production' } };

async function expectAnswer(subject: string, url: string, query: string, expected: unknown): Promise<void> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body: unknown = await res.json();
  if (res.status !== 200 || JSON.stringify(body) !== JSON.stringify(expected)) {
    throw new Error(`${subject} answered ${query} with ${res.status} ${JSON.stringify(body)}, expected ${JSON.stringify(expected)}`);
  }
}

type Name = 'ours' | 'baseline' | 'apollo-minimum' | 'fastify-floor';
interface Subject {
  readonly name: Name;
  readonly script: string;
  server?: ServerProcess;
}

// ours and baseline make the BENCH lines; the other two are printed beside them as reference
// points (see their files): what Apollo costs with nothing of ours but our execution step, and
// what a Fastify route that runs nothing costs.
const subjects: Subject[] = [
  { name: 'ours', script: path.join(here, 'lib/servers/strongroom.ts') },
  { name: 'baseline', script: path.join(here, 'lib/servers/default-apollo.ts') },
  { name: 'apollo-minimum', script: path.join(here, 'lib/servers/apollo-minimum.ts') },
  { name: 'fastify-floor', script: path.join(here, 'lib/servers/fastify-floor.ts') },
];

/** Round r runs the subjects in a rotated order, reversed every other round, so no subject always follows the same one. */
function orderOf(round: number): Subject[] {
  const k = round % subjects.length;
  const rotated = [...subjects.slice(k), ...subjects.slice(0, k)];
  return Math.floor(round / subjects.length) % 2 === 0 ? rotated : rotated.reverse();
}

try {
  for (const subject of subjects) {
    subject.server = await startServerProcess(subject.script, childOptions);
    console.log(`# ${subject.name}: ${subject.server.url} (pid ${subject.server.pid}, ${String(subject.server.info.databases)})`);
  }
  console.log(`# ${options.rounds} rounds × ${options.durationSeconds} s per server, ${options.connections} connections, warm-up ${options.warmupSeconds} s`);
  for (const { metric, query, expected } of QUERIES) {
    for (const s of subjects) await expectAnswer(s.name, s.server!.url, query, expected);
    const load = (s: Subject, durationSeconds: number) =>
      runLoad(graphqlLoad(`${s.server!.url}/graphql`, query, { durationSeconds, connections: options.connections }));
    if (options.warmupSeconds > 0) for (const s of subjects) await load(s, options.warmupSeconds);
    const rps = Object.fromEntries(subjects.map((s) => [s.name, [] as number[]])) as Record<Name, number[]>;
    const cpu = Object.fromEntries(subjects.map((s) => [s.name, [] as number[]])) as Record<Name, number[]>;
    for (let round = 0; round < options.rounds; round++) {
      for (const s of orderOf(round)) {
        const cpuBefore = await s.server!.cpuMicros();
        const r = await load(s, options.durationSeconds);
        const cpuPerRequest = ((await s.server!.cpuMicros()) - cpuBefore) / r.requests;
        rps[s.name].push(r.requestsPerSecond);
        cpu[s.name].push(cpuPerRequest);
        console.log(
          `# ${metric} round ${round + 1} ${s.name}: ${Math.round(r.requestsPerSecond)} req/s, ${Math.round(cpuPerRequest)} us CPU/req (p50 ${r.latencyP50Ms} ms, p99 ${r.latencyP99Ms} ms, ${r.requests} requests)`,
        );
      }
    }
    for (const s of subjects) {
      console.log(`# ${metric} median ${s.name}: ${Math.round(median(rps[s.name]))} req/s, ${median(cpu[s.name]).toFixed(1)} us CPU/req`);
    }
    printBenchLine({ metric: `${metric}-cpu`, ours: median(cpu.ours), baseline: median(cpu.baseline), unit: 'us/req', better: 'lower' });
    printBenchLine({ metric: `${metric}-rps`, ours: median(rps.ours), baseline: median(rps.baseline), unit: 'req/s' });
  }
} finally {
  await Promise.all(subjects.map((s) => s.server?.stop()));
}
if (options.cpuProfileDir) console.log(`# CPU profiles of every server are in ${options.cpuProfileDir}`);
