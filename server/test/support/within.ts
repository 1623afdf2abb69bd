import assert from 'node:assert/strict';
import type { TestServer } from './server.ts';

/** Awaits `promise`, failing with `what` if it has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))),
  ]);
}

/** The value of one series in the server's /metrics, e.g. metricValue(server, 'x_total{reason="timeout"}'). */
export async function metricValue(server: TestServer, series: string): Promise<number> {
  const text = await (await fetch(server.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `${series} is exported`);
  return Number(line.slice(series.length + 1));
}
