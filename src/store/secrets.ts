// Secrets at rest: AES-256-GCM with a 32-byte key from FABRIC_SECRET_KEY (base64) or a 0600
// key file `<dataDir>/secret.key` created on first use. Every worker sharing one Redis must
// share the key (set FABRIC_SECRET_KEY, or the same DATA_DIR).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PREFIX = 'v1:';

export interface SecretKeyOptions {
  dataDir: string;
  /** FABRIC_SECRET_KEY: 32 bytes, base64. */
  secretKey?: string;
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${where}: expected 32 bytes, base64-encoded (got ${key.length} bytes)`);
  return key;
}

/** The key from the option/env, or from `<dataDir>/secret.key` (created 0600 when missing). */
export function loadSecretKey(opts: SecretKeyOptions): Buffer {
  if (opts.secretKey) return decodeKey(opts.secretKey, 'FABRIC_SECRET_KEY');
  mkdirSync(opts.dataDir, { recursive: true });
  const file = join(opts.dataDir, 'secret.key');
  try {
    // 'wx': exactly one process creates it, the others read what it wrote.
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let text = readFileSync(file, 'utf8');
  // A writer racing us may not have written yet: bounded wait for the content.
  for (let i = 0; i < 50 && text.trim() === ''; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    text = readFileSync(file, 'utf8');
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return decodeKey(text, file);
}

/** Encrypts `plain` bound to `aad` (e.g. the fabric name, so a blob cannot be moved to another fabric). */
export function encrypt(key: Buffer, plain: string, aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return PREFIX + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
}

export function decrypt(key: Buffer, blob: string, aad: string): string {
  if (!blob.startsWith(PREFIX)) throw new Error('secret blob: unknown format');
  const raw = Buffer.from(blob.slice(PREFIX.length), 'base64');
  if (raw.length < 28) throw new Error('secret blob: truncated');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  } catch {
    throw new Error('secret blob: authentication failed (wrong FABRIC_SECRET_KEY or secret.key?)');
  }
}

const SECRET_FIELD = /^(password|passwd|secret|token|authkey|privkey|community|apikey|key)$/i;

/** Deep copy with secret-looking fields replaced: a last guard for events, logs and job data. */
export function redactSecrets<T>(v: T, depth = 0): T {
  if (depth > 20 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redactSecrets(x, depth + 1)) as unknown as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    out[k] = SECRET_FIELD.test(k) ? '<redacted>' : redactSecrets(x, depth + 1);
  }
  return out as T;
}
