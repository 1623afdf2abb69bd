import { Worker, type WorkerOptions } from 'node:worker_threads';

// Worker threads do not inherit tsx's loader hooks from `node --import tsx` (Node 20), so each
// worker registers tsx itself before importing its TypeScript entry.
export function startTsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(source, { ...options, eval: true });
}
