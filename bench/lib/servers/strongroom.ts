/**
 * Child process: our server exactly as createServer() builds it (see ../server.ts), for
 * benchmarks that load it from another process. Started with startServerProcess().
 */
import { serveForParent } from '../child.ts';
import { startBenchServer } from '../server.ts';

await serveForParent(async () => {
  const s = await startBenchServer();
  return { url: s.url, info: { databases: s.databases.label }, close: () => s.close() };
});
