// Bundles the dashboard (src/web/client) into dist/web/public (or the directory given as the first
// argument): one ES module with lightweight-charts inside, its CSS, and index.html. Nothing is
// fetched from elsewhere at run time.
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { brotliCompressSync, gzipSync } from 'node:zlib';
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

// Compressed once here, served by @fastify/static (preCompressed) to browsers that accept them;
// the live stream is never compressed, so its events are not held back in a compressor's buffer.
for (const name of await readdir(outdir)) {
  if (!/\.(js|css)$/.test(name)) continue;
  const body = await readFile(`${outdir}/${name}`);
  await writeFile(`${outdir}/${name}.gz`, gzipSync(body, { level: 9 }));
  await writeFile(`${outdir}/${name}.br`, brotliCompressSync(body));
}
