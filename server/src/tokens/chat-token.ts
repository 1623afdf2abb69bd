import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../store/atomic-file.ts';
import { readTokenKeyFile, tokenKey, type TokenKeyRing } from './token-keys.ts';

/** What a chat token carries from CreateChatToken to the WebSocket handshake. */
export interface ChatTokenClaims {
  /** Random id that makes the token single-use. */
  tokenId: string;
  roomId: string;
  userId: string;
  attributes: Record<string, string> | undefined;
  /** Bitmask of tokens/capabilities.ts. */
  capabilities: number;
  tokenExpiresAt: number;
  sessionExpiresAt: number;
}

interface WireClaims {
  j: string;
  r: string;
  u: string;
  a?: Record<string, string>;
  c: number;
  t: number;
  s: number;
}

/**
 * v2.<key id>.<base64url(iv | ciphertext | tag)>, the key id and version bound in as AAD. v1 (no
 * key id) is what servers before key rotation minted: still opened, by trying each key, so an
 * upgrade does not invalidate tokens handed out just before it.
 */
const VERSION = 'v2';
const LEGACY_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Chat tokens are encrypted, not only signed (AES-256-GCM): a client holding one cannot read the
 * attributes or user id inside, nor forge or alter one. The token is base64url so that it is a
 * valid Sec-WebSocket-Protocol value, where it travels.
 */
export class ChatTokenCipher {
  private ring!: TokenKeyRing;
  private byId!: ReadonlyMap<string, Buffer>;

  private constructor(ring: TokenKeyRing) {
    this.useKeys(ring);
  }

  static fromKey(key: Buffer): ChatTokenCipher {
    return new ChatTokenCipher({ current: tokenKey(key), previous: [] });
  }

  static fromKeys(ring: TokenKeyRing): ChatTokenCipher {
    return new ChatTokenCipher(ring);
  }

  /**
   * The keys of --token-key-file, else the key from configuration (base64), else the one kept in
   * the data dir, else a new one saved there: tokens then survive a restart, and nodes that share
   * a key accept each other's tokens.
   */
  static async load(dataDir: string, configuredKey: string | undefined, keyFile?: string): Promise<ChatTokenCipher> {
    if (keyFile) return ChatTokenCipher.fromKeys(await readTokenKeyFile(keyFile));
    if (configuredKey) return ChatTokenCipher.fromKey(Buffer.from(configuredKey, 'base64'));
    const path = join(dataDir, 'token.key');
    try {
      return ChatTokenCipher.fromKey(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const key = randomBytes(32);
    await writeAtomically(path, `${key.toString('base64')}\n`);
    return ChatTokenCipher.fromKey(key);
  }

  /** Swaps the keys between two events: a token is sealed or opened with one ring, never a mix. */
  useKeys(ring: TokenKeyRing): void {
    this.byId = new Map([ring.current, ...ring.previous].map((k) => [k.id, k.key]));
    this.ring = ring;
  }

  get keys(): TokenKeyRing {
    return this.ring;
  }

  seal(claims: Omit<ChatTokenClaims, 'tokenId'>): { token: string; tokenId: string } {
    const tokenId = randomBytes(16).toString('base64url');
    const wire: WireClaims = {
      j: tokenId,
      r: claims.roomId,
      u: claims.userId,
      c: claims.capabilities,
      t: claims.tokenExpiresAt,
      s: claims.sessionExpiresAt,
    };
    if (claims.attributes) wire.a = claims.attributes;
    const { id, key } = this.ring.current;
    const header = `${VERSION}.${id}`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(header));
    const body = Buffer.concat([cipher.update(JSON.stringify(wire), 'utf8'), cipher.final()]);
    const token = `${header}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    return { token, tokenId };
  }

  /** The claims of a token one of the keys sealed, or undefined for anything else (forged, altered, garbage, a retired key). */
  open(token: string): ChatTokenClaims | undefined {
    if (token.startsWith(`${VERSION}.`)) {
      const dot = token.indexOf('.', VERSION.length + 1);
      if (dot < 0) return undefined;
      const key = this.byId.get(token.slice(VERSION.length + 1, dot));
      return key ? decrypt(key, token.slice(0, dot), token.slice(dot + 1)) : undefined;
    }
    if (token.startsWith(`${LEGACY_VERSION}.`)) {
      for (const key of this.byId.values()) {
        const claims = decrypt(key, LEGACY_VERSION, token.slice(LEGACY_VERSION.length + 1));
        if (claims) return claims;
      }
    }
    return undefined;
  }
}

// The AAD is one of a few strings (the version and key id): its bytes are made once, not per handshake.
const aadBytes = new Map<string, Buffer>();
function aadOf(aad: string): Buffer {
  let bytes = aadBytes.get(aad);
  if (!bytes) {
    // Bounded by the keys ever configured; a header with an unknown key id never gets here.
    bytes = Buffer.from(aad);
    aadBytes.set(aad, bytes);
  }
  return bytes;
}

function decrypt(key: Buffer, aad: string, payload: string): ChatTokenClaims | undefined {
  const raw = Buffer.from(payload, 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(aadOf(aad));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    const wire = JSON.parse(plain.toString('utf8')) as WireClaims;
    return {
      tokenId: wire.j,
      roomId: wire.r,
      userId: wire.u,
      attributes: wire.a,
      capabilities: wire.c,
      tokenExpiresAt: wire.t,
      sessionExpiresAt: wire.s,
    };
  } catch {
    return undefined;
  }
}
