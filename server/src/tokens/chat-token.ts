import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomically } from '../store/atomic-file.ts';

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

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Chat tokens are encrypted, not only signed (AES-256-GCM): a client holding one cannot read the
 * attributes or user id inside, nor forge or alter one. The token is base64url so that it is a
 * valid Sec-WebSocket-Protocol value, where it travels.
 */
export class ChatTokenCipher {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): ChatTokenCipher {
    if (key.length !== 32) throw new Error('the chat token key must be 32 bytes');
    return new ChatTokenCipher(key);
  }

  /**
   * The key from configuration (base64), else the one kept in the data dir, else a new one saved
   * there: tokens then survive a restart, and nodes that share a key accept each other's tokens.
   */
  static async load(dataDir: string, configuredKey: string | undefined): Promise<ChatTokenCipher> {
    if (configuredKey) return ChatTokenCipher.fromKey(Buffer.from(configuredKey, 'base64'));
    const path = join(dataDir, 'token.key');
    try {
      return ChatTokenCipher.fromKey(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const key = randomBytes(32);
    await writeAtomically(path, `${key.toString('base64')}\n`);
    return new ChatTokenCipher(key);
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
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(VERSION));
    const body = Buffer.concat([cipher.update(JSON.stringify(wire), 'utf8'), cipher.final()]);
    const token = `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    return { token, tokenId };
  }

  /** The claims of a token this key sealed, or undefined for anything else (forged, altered, garbage). */
  open(token: string): ChatTokenClaims | undefined {
    if (!token.startsWith(`${VERSION}.`)) return undefined;
    const raw = Buffer.from(token.slice(VERSION.length + 1), 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(VERSION));
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
}
