import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { IvschatServiceException } from '@aws-sdk/client-ivschat';
import type { TestServer } from './server.ts';

/**
 * Awaits a control-plane call that must fail with the SDK's typed exception `type` (checked with
 * instanceof, as an application would) and returns it for its fields to be checked.
 */
export async function expectApiError<E extends IvschatServiceException>(
  call: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  let error: unknown;
  try {
    await call;
  } catch (caught) {
    error = caught;
  }
  assert.ok(error !== undefined, `expected ${type.name}, but the call succeeded`);
  assert.ok(error instanceof type, `expected ${type.name}, got ${String((error as Error).name)}: ${String((error as Error).message)}`);
  return error;
}

export interface RawAnswer {
  status: number;
  /** x-amzn-errortype, the header the AWS SDK reads the error type from. */
  errorType: string | undefined;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: Record<string, unknown> | undefined;
  text: string;
  headers: IncomingHttpHeaders;
}

/**
 * One HTTP request on a connection of its own (closed after it, so nothing keeps the test process
 * alive), for what the SDK never sends. Fails after `ms` rather than hang.
 */
export function rawRequest(
  server: TestServer,
  method: string,
  path: string,
  body?: string | Buffer,
  ms = 5000,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(server.url + path, { method, agent: false, timeout: ms }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> | undefined;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = undefined;
        }
        const errorType = response.headers['x-amzn-errortype'];
        resolve({
          status: response.statusCode!,
          errorType: typeof errorType === 'string' ? errorType : undefined,
          body: parsed,
          text,
          headers: response.headers,
        });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${path}: no answer within ${ms} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Polls a file until `predicate` holds for its content, for output the server writes through a
 * buffered stream with no event to wait on. Bounded: fails after `ms` with what the file held.
 */
export async function waitForFile(path: string, predicate: (content: string) => boolean, ms = 5000): Promise<string> {
  const deadline = Date.now() + ms;
  let content = '';
  for (;;) {
    try {
      content = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (predicate(content)) return content;
    if (Date.now() > deadline) throw new Error(`${path} did not reach the expected content within ${ms} ms; it holds: ${JSON.stringify(content)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Resolves once the wall clock has moved past `since` (ms epoch). Timestamps of the API have
 * millisecond resolution; a test about ordering by updateTime waits for this instead of sleeping.
 */
export async function clockPast(since: number): Promise<void> {
  while (Date.now() <= since) await new Promise((resolve) => setImmediate(resolve));
}
