import { randomFillSync } from 'node:crypto';

// Message, event, error and operation ids are 12 characters of [a-zA-Z0-9], unique across all
// three frame kinds (the messaging SDK drops an Id it has seen). 71 random bits make a collision
// negligible. Ids are minted per message, so random bytes come from a refilled pool instead of a
// crypto call each time.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function nextByte(): number {
  if (offset === POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  return pool[offset++]!;
}

export function newId(): string {
  let id = '';
  while (id.length < 12) {
    const byte = nextByte();
    // 248 = 4 * 62: bytes above it are skipped so every character is equally likely.
    if (byte < 248) id += ALPHABET[byte % 62];
  }
  return id;
}

export const ID_PATTERN = /^[a-zA-Z0-9]{12}$/;
