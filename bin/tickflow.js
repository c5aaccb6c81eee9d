#!/usr/bin/env node
// The published package runs the compiled CLI; a source checkout without a build falls back to tsx.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

// tickflow needs the Node.js that package.json's engines names (its dependencies do). On a machine
// whose node is older (Node 20 is past its end of life but still what some distributions ship),
// it runs itself under Node 22 from npm instead of failing, and says so (README, "Node.js versions").
const floor = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node.replace(/^>=\s*/, '');
const [major, minor] = process.versions.node.split('.').map(Number);
const [needMajor, needMinor = 0] = floor.split('.').map(Number);
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  process.stderr.write(
    `tickflow: Node ${process.version} is older than ${floor} (engines); running under Node ${needMajor} from npm (npx -p node@${needMajor})\n`,
  );
  let node;
  try {
    node = execFileSync('npx', ['--yes', '-p', `node@${needMajor}`, '-c', 'command -v node'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (err) {
    process.stderr.write(`tickflow: cannot get Node ${needMajor} from npm (${err.message}); install Node.js ${floor} or newer\n`);
    process.exit(1);
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // A supervisor's SIGTERM or SIGHUP reaches this process only: pass it on, so tickflow shuts down
  // gracefully. A terminal's Ctrl-C reaches both processes already (one process group): forwarding
  // it would be a second SIGINT, which makes tickflow exit without its shutdown steps.
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  process.on('SIGINT', () => {});
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
} else {
  const built = join(root, 'dist', 'cli', 'main.js');
  if (existsSync(built)) {
    await import(pathToFileURL(built).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
  }
}
