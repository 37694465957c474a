// Builds the console into OUTDIR (default ../build/web/console): app.js
// (src/main.js and cytoscape, minified), app.css, index.html, and a gzip copy
// of each, which seismo-correlator embeds (correlator/console.c) and serves
// to browsers that accept gzip. Deterministic: same sources and lockfile,
// same bytes (no timestamps in gzip headers, no source maps with paths).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { gzipSync, constants } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '../build/web/console'));
mkdirSync(out, { recursive: true });

await build({
	entryPoints: { app: join(here, 'src/main.js') },
	bundle: true,
	minify: true,
	format: 'iife',
	target: ['es2020'],
	legalComments: 'eof',
	outdir: out,
	logLevel: 'warning',
	define: { 'process.env.NODE_ENV': '"production"' },
});
await build({
	entryPoints: { app: join(here, 'src/style.css') },
	bundle: true,
	minify: true,
	outdir: out,
	logLevel: 'warning',
});
copyFileSync(join(here, 'src/index.html'), join(out, 'index.html'));
for (const f of ['index.html', 'app.js', 'app.css']) {
	const gz = gzipSync(readFileSync(join(out, f)), { level: constants.Z_BEST_COMPRESSION });
	writeFileSync(join(out, f + '.gz'), gz);
}
console.log(`console built into ${out}`);
