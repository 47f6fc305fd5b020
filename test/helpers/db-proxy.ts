/**
 * A TCP proxy in front of the test database (PostgreSQL over TCP, or PGlite's unix socket),
 * for tests of what happens when a connection drops: `cutWhen(bytes)` ends both sides of the
 * connection that sends those bytes (a query parameter, say) instead of forwarding them, so
 * the query is in flight when its connection goes away — what a network fault or a restarted
 * server does.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface DatabaseProxy {
  /** The database URL through the proxy. */
  readonly url: string;
  /** The next client packet containing `bytes` ends its connection instead of reaching the server. */
  cutWhen(bytes: string): void;
  /** How many connections were cut. */
  readonly cuts: number;
  close(): Promise<void>;
}

/** Where `url` connects: a unix socket (`?host=/dir`, libpq style) or host:port. */
function targetOf(url: URL): net.NetConnectOpts {
  const socketDir = url.searchParams.get('host');
  if (socketDir?.startsWith('/')) return { path: `${socketDir}/.s.PGSQL.${url.port || '5432'}` };
  return { host: url.hostname, port: Number(url.port || 5432) };
}

export async function startDatabaseProxy(databaseUrl: string): Promise<DatabaseProxy> {
  const upstream = new URL(databaseUrl);
  const target = targetOf(upstream);
  const sockets = new Set<net.Socket>();
  let pattern: Buffer | undefined;
  let cuts = 0;
  const server = net.createServer((client) => {
    const db = net.connect(target);
    for (const s of [client, db]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (chunk: Buffer) => {
      if (pattern && chunk.includes(pattern)) {
        pattern = undefined;
        cuts++;
        client.destroy();
        db.destroy();
        return;
      }
      db.write(chunk);
    });
    db.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => db.destroy());
    db.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const through = new URL(databaseUrl);
  through.hostname = '127.0.0.1';
  through.port = String(port);
  through.searchParams.delete('host');
  return {
    url: through.toString(),
    cutWhen(bytes) {
      pattern = Buffer.from(bytes, 'utf8');
    },
    get cuts() {
      return cuts;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
