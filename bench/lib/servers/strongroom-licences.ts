/**
 * Child process: our server (as ../servers/strongroom.ts) with licences to check, for the
 * validateLicence load of bench/licences.ts. Reports the application and a valid key in `info`.
 * The validate rate limit is lifted: the load comes from one address.
 */
import { serveForParent } from '../child.ts';
import { startBenchServer } from '../server.ts';

await serveForParent(async () => {
  const s = await startBenchServer({ RATE_LIMIT_VALIDATE_PER_IP: '100000000' });
  const licences = s.server.services.licences;
  const created = await licences.createMany(
    Array.from({ length: 1000 }, (_, i) => ({ username: `bench-${i}`, application: 'Bench App', licenceKey: `BENCH-KEY-${String(i).padStart(5, '0')}` })),
  );
  return {
    url: s.url,
    info: { databases: s.databases.label, application: 'Bench App', key: 'BENCH-KEY-00042', licences: created.length },
    close: () => s.close(),
  };
});
