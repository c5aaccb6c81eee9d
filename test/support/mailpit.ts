import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './data.js';
import { freePort } from './kafka.js';
import { tempDir } from './pipeline.js';
import { waitFor } from './wait.js';

/** A message as Mailpit's HTTP API returns it (GET /api/v1/message/{ID}). */
export interface MailpitMessage {
  readonly ID: string;
  readonly Subject: string;
  readonly Text: string;
  readonly HTML: string;
  readonly To: readonly { Address: string }[];
}

export interface Mailpit {
  readonly smtpPort: number;
  /** The test CA that signed the SMTP server's certificate (PEM file). */
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  /** Every message received, oldest first, with its bodies. */
  messages(): Promise<MailpitMessage[]>;
}

/**
 * A private Mailpit (installed by scripts/services/mailpit.sh) on free ports: SMTP with STARTTLS
 * required (a certificate of scripts/tls.sh) and AUTH required, HTTP API to read what
 * arrived. Stopped when the test ends.
 */
export async function startMailpit(t: TestContext): Promise<Mailpit> {
  const script = join(REPO_ROOT, 'scripts', 'services', 'mailpit.sh');
  execFileSync('bash', [script, 'ensure'], { stdio: 'ignore' });
  const bin = execFileSync('bash', [script, 'path'], { encoding: 'utf8' }).trim();
  const dir = tempDir('tf-mailpit-');
  execFileSync('bash', [join(REPO_ROOT, 'scripts', 'tls.sh'), join(dir, 'tls')]);
  const username = 'alerts';
  const password = 'mailpit-secret-1';
  writeFileSync(join(dir, 'smtp-auth'), `${username}:${password}\n`);
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    bin,
    [
      '--smtp',
      `127.0.0.1:${smtpPort}`,
      '--listen',
      `127.0.0.1:${httpPort}`,
      '--database',
      join(dir, 'mailpit.db'),
      '--smtp-tls-cert',
      join(dir, 'tls', 'server.pem'),
      '--smtp-tls-key',
      join(dir, 'tls', 'server.key'),
      '--smtp-require-starttls',
      '--smtp-auth-file',
      join(dir, 'smtp-auth'),
      '--disable-version-check',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  t.after(() => {
    child.kill('SIGTERM');
  });
  const api = `http://127.0.0.1:${httpPort}/api/v1`;
  await waitFor(`mailpit HTTP API on ${httpPort} (${output.slice(-300)})`, async () => {
    if (child.exitCode !== null) throw new Error(`mailpit exited ${child.exitCode}: ${output.slice(-1000)}`);
    return fetch(`${api}/messages`).then(
      (r) => r.ok,
      () => false,
    );
  });
  return {
    smtpPort,
    caFile: join(dir, 'tls', 'ca.pem'),
    username,
    password,
    async messages() {
      const list = (await (await fetch(`${api}/messages`)).json()) as { messages: { ID: string }[] };
      const out: MailpitMessage[] = [];
      for (const m of [...list.messages].reverse()) out.push((await (await fetch(`${api}/message/${m.ID}`)).json()) as MailpitMessage);
      return out;
    },
  };
}
