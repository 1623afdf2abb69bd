import type { HttpCase } from './http-arbitraries.ts';
import type { HttpExchange } from './http-raw.ts';
import { OPERATIONS, jsonTypeOfValue } from './operations.ts';

// What the control plane must answer to one request, from the protocol (ivs-chat-protocol.md §1):
// always a complete response and never a 5xx; an error is the AWS shape (x-amzn-errortype naming
// a type of the API whose status it has, a JSON body with message and the same __type); some
// inputs have one specific answer, computed here.

const ERROR_STATUS: Record<string, number> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  PendingVerification: 403,
  ResourceNotFoundException: 404,
  ConflictException: 409,
  ServiceQuotaExceededException: 402,
  ThrottlingException: 429,
};
const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const MAX_BODY_BYTES = 256 * 1024;
const MAX_REPORTED_FIELDS = 20;

export type HttpExpect =
  | { kind: 'any' }
  | { kind: 'validation'; reason: 'UNKNOWN_OPERATION' | 'FIELD_VALIDATION_FAILED' | 'OTHER'; fields: readonly string[]; why: string }
  /** The client stopped mid-body: no success, and the server ends the connection. */
  | { kind: 'end' }
  /** Not HTTP/1.1: a 4xx answer or a close, within the bound. */
  | { kind: 'answer-or-close' };

export function expectHttp(c: HttpCase, quotas: boolean): HttpExpect {
  if (c.rawHead !== undefined) return { kind: 'answer-or-close' };
  if (c.framing === 'truncated') return { kind: 'end' };
  // uWS closes the connection on a method it does not know (501 would say why, but a close is an answer).
  if (!STANDARD_METHODS.has(c.method)) return { kind: 'answer-or-close' };
  const method = c.method.toUpperCase();
  const path = c.target.split('?')[0]!;
  const query = c.target.includes('?') ? c.target.slice(c.target.indexOf('?') + 1) : '';
  const unknown = { kind: 'validation', reason: 'UNKNOWN_OPERATION', fields: [], why: 'unknown operation' } as const;
  if (method === 'GET' && (path === '/healthz' || path === '/metrics')) return { kind: 'any' };

  let members: Record<string, string>;
  let hasBody = true;
  const params: Record<string, unknown> = {};
  if (path.startsWith('/tags/')) {
    // uWS hands the handler the method in lower case: `post` on the wire is POST.
    const op = OPERATIONS.find((o) => 'tags' in o.route && o.route.method === method);
    if (!op) return unknown;
    try {
      params.resourceArn = decodeURIComponent(path.slice('/tags/'.length));
    } catch {
      return { kind: 'validation', reason: 'FIELD_VALIDATION_FAILED', fields: ['resourceArn'], why: 'bad percent-encoding' };
    }
    if (method === 'DELETE') params.tagKeys = new URLSearchParams(query).getAll('tagKeys');
    members = op.members;
    hasBody = method === 'POST';
  } else {
    const op = OPERATIONS.find((o) => 'path' in o.route && o.route.path === path);
    if (!op || c.method.toLowerCase() !== 'post') return unknown;
    members = op.members;
  }
  if (!hasBody) return { kind: 'any' };

  if (c.body.length > MAX_BODY_BYTES) return { kind: 'validation', reason: 'OTHER', fields: [], why: 'body over 256 KiB' };
  let body: unknown = {};
  if (c.body.length > 0) {
    try {
      body = JSON.parse(c.body.toString('utf8'));
    } catch {
      return { kind: 'validation', reason: 'OTHER', fields: [], why: 'body not JSON' };
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { kind: 'validation', reason: 'OTHER', fields: [], why: 'body not an object' };
  // Over its quota a request may be throttled before its members are looked at.
  if (quotas) return { kind: 'any' };
  const input = { ...(body as Record<string, unknown>), ...params };
  const wrong = Object.entries(members)
    .filter(([name, type]) => Object.hasOwn(input, name) && jsonTypeOfValue(input[name]) !== type)
    .map(([name]) => name);
  if (wrong.length === 0) return { kind: 'any' };
  return { kind: 'validation', reason: 'FIELD_VALIDATION_FAILED', fields: wrong.length <= MAX_REPORTED_FIELDS ? wrong : [], why: `members of the wrong type: ${wrong.join(', ')}` };
}

/** Undefined when the exchange is right; else what is wrong with it. */
export function judgeHttp(c: HttpCase, expect: HttpExpect, exchange: HttpExchange, boundMs: number): string | undefined {
  if (exchange.malformed) return `malformed response: ${exchange.malformed}`;
  const response = exchange.response;
  if (expect.kind === 'end') {
    if (response && response.status < 400) return `a body cut short was answered ${response.statusLine}`;
    if (!exchange.ended) return `the connection was still open ${boundMs} ms after the client stopped mid-body`;
    return response ? shapeProblem(c, response) : undefined;
  }
  if (expect.kind === 'answer-or-close') {
    if (response) return response.status >= 400 && response.status < 500 ? undefined : `answered ${response.statusLine}`;
    return exchange.ended ? undefined : `neither an answer nor a close within ${boundMs} ms`;
  }
  if (!response) return exchange.ended ? 'the connection closed without an answer' : `no answer within ${boundMs} ms`;
  const shape = shapeProblem(c, response);
  if (shape) return shape;
  if (expect.kind === 'validation') {
    if (response.status !== 400 || response.headers['x-amzn-errortype'] !== 'ValidationException') return `expected a ValidationException (${expect.why}), got ${response.statusLine} ${response.body.toString().slice(0, 200)}`;
    const body = JSON.parse(response.body.toString()) as { reason?: string; fieldList?: Array<{ name: string }> };
    if (body.reason !== expect.reason) return `expected reason ${expect.reason} (${expect.why}), got ${String(body.reason)}`;
    for (const field of expect.fields) {
      if (!body.fieldList?.some((f) => f.name === field || f.name.startsWith(`${field}.`))) return `the fieldList does not name ${field}: ${JSON.stringify(body.fieldList)?.slice(0, 300)}`;
    }
  }
  return undefined;
}

function shapeProblem(c: HttpCase, response: NonNullable<HttpExchange['response']>): string | undefined {
  const { status } = response;
  if (status >= 500) return `a server error: ${response.statusLine} ${response.body.toString().slice(0, 300)}`;
  const text = response.body.toString('utf8');
  if (status === 204) return response.body.length === 0 ? undefined : 'a 204 with a body';
  if (status === 200) {
    if (c.target.startsWith('/metrics')) return undefined;
    try {
      const value = JSON.parse(text) as unknown;
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? undefined : `a 200 whose body is not a JSON object: ${text.slice(0, 100)}`;
    } catch {
      return `a 200 whose body is not JSON: ${text.slice(0, 100)}`;
    }
  }
  if (status < 400) return `unexpected status ${response.statusLine}`;
  const type = response.headers['x-amzn-errortype'];
  if (!type || ERROR_STATUS[type] !== status) return `a ${status} whose x-amzn-errortype is ${String(type)}`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `an error whose body is not JSON: ${text.slice(0, 100)}`;
  }
  if (typeof body.message !== 'string' || body.message.length === 0) return 'an error without a message';
  if (body.__type !== type) return `__type ${String(body.__type)} differs from x-amzn-errortype ${type}`;
  if (type === 'ThrottlingException' && (typeof body.limit !== 'number' || typeof body.resourceId !== 'string')) return 'a ThrottlingException without limit and resourceId';
  return undefined;
}
