// Node module hooks for the k6 emulation: `k6/...` imports of a bundle resolve to the shims.
let shims = {};

export function initialize(data) {
  shims = data.shims;
}

export async function resolve(specifier, context, next) {
  // Passed on rather than answered here, so the TypeScript loader still handles the shim files.
  return next(shims[specifier] ?? specifier, context);
}
