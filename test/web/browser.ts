import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/data.js';

/** Installed by scripts/services/chromium.sh. */
const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

export const DESKTOP = { width: 1366, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** Bundles the dashboard as `npm run build` does, into `outdir` (default: a temporary directory). */
export async function buildDashboard(t: TestContext, outdir?: string): Promise<string> {
  if (outdir === undefined) {
    const temporary = await mkdtemp(join(tmpdir(), 'tickflow-web-'));
    t.after(() => rm(temporary, { recursive: true, force: true }));
    outdir = temporary;
  }
  await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'scripts', 'build-web.mjs'), outdir], { cwd: REPO_ROOT });
  return outdir;
}

/** Headless Chromium on a fresh profile (playwright passes it as --user-data-dir). */
export async function launchChromium(t: TestContext): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'tickflow-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(async () => {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  });
  return browser;
}

export interface Dashboard {
  readonly page: Page;
  /** console.error calls and uncaught page errors. */
  readonly errors: string[];
  /** Requests the page tried to make outside baseUrl (they are aborted). */
  readonly external: string[];
  screenshot(name: string): Promise<string>;
}

/**
 * Opens the dashboard served at `baseUrl` (an API app in a test, or a whole `tickflow run`). Every
 * request outside baseUrl is recorded and aborted, so a test can assert the page is self-contained.
 */
export async function openDashboard(
  browser: BrowserContext,
  baseUrl: string,
  viewport: { width: number; height: number },
  /** Appended to `${baseUrl}/`: a query (`?token=`) or a hash (`#ETHUSDT/5m`). */
  suffix = '',
): Promise<Dashboard> {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const errors: string[] = [];
  const external: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(baseUrl) || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  await page.goto(`${baseUrl}/${suffix}`);
  return {
    page,
    errors,
    external,
    async screenshot(name) {
      await mkdir(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}
