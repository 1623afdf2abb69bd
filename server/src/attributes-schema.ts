import { z } from 'zod';

/** Attributes (message, event, token and review answer alike) may hold at most 1 KB of keys and values. */
export const MAX_ATTRIBUTES_BYTES = 1024;

// Not z.record: it copies into a fresh object by assignment, so a "__proto__" key (JSON.parse
// makes it an ordinary own key) sets the copy's prototype and silently vanishes. The object is
// checked and kept as it came.
export const attributesSchema = z
  .custom<Record<string, string>>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'must be an object of strings')
  .superRefine((map, ctx) => {
    let bytes = 0;
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== 'string') ctx.addIssue({ code: 'custom', message: 'must be a string', path: [key] });
      else bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    }
    if (bytes > MAX_ATTRIBUTES_BYTES) ctx.addIssue({ code: 'custom', message: 'attributes are limited to 1 KB in total' });
  });
