/**
 * GraphiQL served entirely from this server: the page, GraphiQL's UMD bundle and React all come
 * from node_modules via /graphiql/assets/*, so the IDE works on a closed network (no CDN, no web
 * fonts) and under a strict Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const ASSET_PREFIX = '/graphiql/assets/';

/** The only files served; a fixed list, so the :file parameter can never reach anything else on disk. */
const ASSETS: Readonly<Record<string, { pkg: string; file: string; type: string }>> = {
  'graphiql.min.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript; charset=utf-8' },
  'graphiql.min.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css; charset=utf-8' },
  'react.production.min.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript; charset=utf-8' },
  'react-dom.production.min.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', type: 'text/javascript; charset=utf-8' },
};

// Resolved through package.json (not a relative path) so hoisting or a monorepo layout doesn't matter.
const packageDir = (pkg: string): string => path.dirname(require.resolve(`${pkg}/package.json`));
const packageVersion = (pkg: string): string => (require(`${pkg}/package.json`) as { version: string }).version;

/** Loaded on first request, then kept: ~4 MB, and the page is a developer tool that may never be opened. */
const cache = new Map<string, Promise<Buffer>>();

function loadAsset(name: string, asset: { pkg: string; file: string }): Promise<Buffer> {
  let body = cache.get(name);
  if (!body) {
    body = readFile(path.join(packageDir(asset.pkg), asset.file), 'utf8').then((text) =>
      // The .map files are not served; dropping the reference spares DevTools a 404 per asset.
      // graphiql.min.css has no @import and its url(...)s are all data: URIs (Roboto and Fira Code
      // are inlined), so nothing else needs rewriting; the integration test guards that.
      Buffer.from(text.replace(/\/[/*]# sourceMappingURL=[^\n]*\s*$/, '')),
    );
    body.catch(() => cache.delete(name)); // don't cache a failed read forever
    cache.set(name, body);
  }
  return body;
}

/**
 * Registers `GET /graphiql/assets/:file` serving the GraphiQL and React UMD files from
 * node_modules with long-lived cache headers (URLs carry `?v=<package version>`); unknown
 * names get the app's normal 404.
 */
export async function registerGraphiqlAssets(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { file: string } }>(`${ASSET_PREFIX}:file`, async (request, reply) => {
    const { file } = request.params;
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!asset) return reply.callNotFound();
    const body = await loadAsset(file, asset);
    return reply.header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').type(asset.type).send(body);
  });
}

/**
 * The one inline script. It is a constant (per-request values travel in a JSON data block, which
 * CSP does not treat as script), so its hash can be allowed in a constant CSP: no nonce plumbing.
 */
const BOOT_SCRIPT = `(function () {
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      // Sends Content-Type: application/json, which satisfies Apollo's CSRF prevention.
      fetcher: GraphiQL.createFetcher({ url: config.endpoint }),
      defaultQuery: config.defaultQuery,
      // Open on the headers tab so {"Authorization": "Bearer ..."} can be pasted straight away.
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: true
    })
  );
})();`;

/**
 * CSP under which the page works. No 'unsafe-eval': the UMD bundles contain no eval/new Function.
 * style-src needs 'unsafe-inline': GraphiQL's dialogs (react-remove-scroll-bar) inject a <style>
 * element at runtime. data: fonts/images are the ones inlined in graphiql.min.css.
 */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash('sha256').update(BOOT_SCRIPT).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** For <script> data blocks: `<` escaped so a value can never close the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The GraphiQL page for the GraphQL endpoint at `endpoint` (a URL path such as '/graphql').
 * Serve it with the `GRAPHIQL_CSP` header.
 */
export function graphiqlHtml(options: { endpoint: string; title?: string; defaultQuery?: string }): string {
  const { endpoint, title = 'Strongroom GraphiQL', defaultQuery = '{ health { status version } }\n' } = options;
  const src = (name: string): string => `${ASSET_PREFIX}${name}?v=${encodeURIComponent(packageVersion(ASSETS[name]!.pkg))}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${src('graphiql.min.css')}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="graphiql-config">${scriptJson({ endpoint, defaultQuery })}</script>
<script src="${src('react.production.min.js')}"></script>
<script src="${src('react-dom.production.min.js')}"></script>
<script src="${src('graphiql.min.js')}"></script>
<script>${BOOT_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * True when the client is a browser asking for a page (Accept lists text/html, not with q=0),
 * so GET /graphql should answer with GraphiQL rather than a GraphQL response.
 */
export function wantsGraphiql(acceptHeader: string | undefined): boolean {
  if (!acceptHeader) return false;
  return acceptHeader.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === 'text/html' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}
