import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The secrets of the SASL/TLS tests. Fixed and distinctive on purpose, so that anyone can grep a
 * test log for them (`grep -r tf-test- …`): none may ever appear in one.
 */
export const TEST_SECRETS = {
  kafkaPassword: 'tf-test-kafka-Scram-5ecret-4b1d',
  postgresPassword: 'tf-test-pg-Pass-5ecret-9e7c',
  apiToken: 'tf-test-api-Token-5ecret-21f0',
} as const;

/** Writes `value` to a fresh file (the way a container mounts a secret) and returns its path. */
export function secretFile(name: string, value: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-secret-'));
  const file = join(dir, name);
  // The trailing newline is what `echo` leaves; tickflow drops it.
  writeFileSync(file, `${value}\n`, { mode: 0o644 });
  return file;
}

/** Fails with the offending excerpt when `text` contains one of the test secrets. */
export function assertNoSecrets(text: string, where: string): void {
  for (const [name, secret] of Object.entries(TEST_SECRETS)) {
    const at = text.indexOf(secret);
    // The excerpt names the secret instead of quoting it: a failing test must not leak it either.
    if (at >= 0) throw new Error(`${where} contains the test secret ${name}: …${text.slice(Math.max(0, at - 200), at)}<${name}>…`);
  }
}
