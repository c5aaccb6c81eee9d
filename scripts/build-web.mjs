// Bundles the dashboard (src/web/client) into dist/web/public (or the directory given as the first
// argument): one ES module with lightweight-charts inside, its CSS, and index.html. Nothing is
// fetched from elsewhere at run time.
import { copyFile, mkdir } from 'node:fs/promises';
import { build } from 'esbuild';

const outdir = process.argv[2] ?? 'dist/web/public';
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: ['src/web/client/main.ts'],
  bundle: true,
  minify: true,
  format: 'esm',
  outdir,
  sourcemap: true,
  target: 'es2022',
  logLevel: 'warning',
});
await copyFile('src/web/client/index.html', `${outdir}/index.html`);
