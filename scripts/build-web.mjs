// Bundles the dashboard (src/web/client) into dist/web; a no-op until the dashboard exists.
import { existsSync } from 'node:fs';
const entry = 'src/web/client/main.ts';
if (existsSync(entry)) {
  const { build } = await import('esbuild');
  await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', outdir: 'dist/web', sourcemap: true, target: 'es2022' });
}
