import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Context } from '../context.ts';

// The chat token keys: the current one seals new tokens; previous ones still open the tokens they
// sealed, so a rotation does not invalidate tokens already handed out. --token-key-file holds
//   {"current": "<base64 of 32 bytes>", "previous": ["<base64 of 32 bytes>", …]}
// and is re-read on SIGHUP: live sockets are untouched (their token was checked at the handshake).

export interface TokenKey {
  /** Short, public name of the key, carried in each token so that opening needs no trial. */
  readonly id: string;
  readonly key: Buffer;
}

export interface TokenKeyRing {
  readonly current: TokenKey;
  readonly previous: readonly TokenKey[];
}

/** 8 characters of SHA-256 of the key: names it without revealing anything usable about a 256-bit random key. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

export function tokenKey(key: Buffer): TokenKey {
  if (key.length !== 32) throw new Error('a chat token key must be 32 bytes');
  return { id: keyIdOf(key), key };
}

/** Standard base64 of exactly 32 bytes, what `openssl rand -base64 32` prints. */
const Base64Key = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be base64 of 32 bytes (make one with: openssl rand -base64 32)')
  .transform((text) => Buffer.from(text, 'base64'));

const KeyFile = z.strictObject({ current: Base64Key, previous: z.array(Base64Key).default([]) });

/** Reads and checks a key file; throws an Error that names the file and what is wrong with it. */
export async function readTokenKeyFile(path: string): Promise<TokenKeyRing> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`token key file ${path}: ${(error as Error).message}`);
  }
  const parsed = KeyFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new Error(`token key file ${path}: ${problems.join('; ')}; expected {"current": "<key>", "previous": ["<key>", …]}`);
  }
  const current = tokenKey(parsed.data.current);
  const previous: TokenKey[] = [];
  for (const key of parsed.data.previous.map(tokenKey)) {
    if (key.key.equals(current.key) || previous.some((p) => p.key.equals(key.key))) continue;
    if (key.id === current.id || previous.some((p) => p.id === key.id)) {
      throw new Error(`token key file ${path}: two different keys share the id ${key.id}; replace one of them`);
    }
    previous.push(key);
  }
  return { current, previous };
}

/**
 * SIGHUP: re-reads --token-key-file. A file that cannot be read or is invalid changes nothing
 * (the keys in use stay, and the error is logged and counted), so a typo cannot lock users out.
 */
export async function reloadTokenKeys(ctx: Context): Promise<boolean> {
  const path = ctx.config.tokenKeyFile;
  if (path === undefined) {
    ctx.log.warn('SIGHUP: there is no --token-key-file to reload; nothing changed');
    return false;
  }
  try {
    const ring = await readTokenKeyFile(path);
    ctx.tokens.useKeys(ring);
    ctx.metrics.tokenKeyReloads.labels('ok').inc();
    ctx.metrics.tokenKeys.set(1 + ring.previous.length);
    ctx.log.info({ current: ring.current.id, previous: ring.previous.map((k) => k.id) }, 'chat token keys reloaded');
    return true;
  } catch (error) {
    ctx.metrics.tokenKeyReloads.labels('error').inc();
    ctx.log.error({ err: error }, 'chat token keys not reloaded; the keys in use stay');
    return false;
  }
}
