import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

// The npm alias for uWebSockets.js (design.md) quietly swaps in a pure-JS `ws` shim when its
// native build does not load on this Node.js. That shim is roughly 30x slower and lacks parts of
// the API, so a load-testing target must not run on it by accident.

export type UwsModule = typeof Uws;

export interface LoadedUws {
  uws: UwsModule;
  native: boolean;
}

export const UWS_FALLBACK_HELP = `uWebSockets.js did not load its native build on Node.js ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules}).
chatstorm refuses to run on the pure-JS fallback: it is far slower and would make every benchmark wrong.
Options:
  - Run Node.js 20 (or 16/18): the bundled alias npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0 has native builds for them.
  - On Node.js 22/24 with glibc >= 2.38, swap the alias in package.json to
      "uWebSockets.js": "npm:@btc-vision/uwebsockets.js@20.57.0"
    (or install the official package from GitHub: uNetworking/uWebSockets.js#v20.57.0), then npm install.
  - To run anyway (functional tests only), pass --allow-uws-fallback or CHATSTORM_ALLOW_UWS_FALLBACK=1.`;

/** A native addon's functions print as `[native code]`; the fallback's App is ordinary JavaScript. */
export function isNativeUws(uws: UwsModule): boolean {
  return typeof uws.App === 'function' && /\[native code\]/.test(Function.prototype.toString.call(uws.App));
}

export function loadUws(): LoadedUws {
  const require = createRequire(import.meta.url);
  const uws = require('uWebSockets.js') as UwsModule;
  return { uws, native: isNativeUws(uws) };
}
