import { execFileSync } from 'node:child_process';

// k6/http: asyncRequest over fetch; the synchronous calls (setup, teardown) through a child
// process, the one way Node can block on a request. Header names come back canonicalized the way
// k6 (Go) writes them: X-Amzn-Errortype.

export interface K6Response {
  status: number;
  body: string | null;
  headers: Record<string, string>;
}

interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, string>;
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

async function request(method: string, url: string, body: string | null | undefined, params: Params | null | undefined): Promise<K6Response> {
  try {
    const res = await fetch(url, { method, body: body ?? null, headers: params?.headers ?? {} });
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => (headers[canonical(name)] = value));
    return { status: res.status, body: await res.text(), headers };
  } catch {
    return { status: 0, body: null, headers: {} };
  }
}

const SYNC = `
let input = '';
process.stdin.on('data', (d) => (input += d)).on('end', async () => {
  const { method, url, body, headers } = JSON.parse(input);
  const res = await fetch(url, { method, body, headers });
  const h = {};
  res.headers.forEach((v, k) => (h[k] = v));
  process.stdout.write(JSON.stringify({ status: res.status, body: await res.text(), headers: h }));
});`;

function requestSync(method: string, url: string, body: string | null | undefined, params: Params | null | undefined): K6Response {
  const out = execFileSync(process.execPath, ['-e', SYNC], { input: JSON.stringify({ method, url, body, headers: params?.headers ?? {} }), encoding: 'utf8' });
  const res = JSON.parse(out) as K6Response;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) headers[canonical(k)] = v;
  return { ...res, headers };
}

export default {
  asyncRequest: request,
  post: (url: string, body?: string | null, params?: Params | null) => requestSync('POST', url, body, params),
  get: (url: string, params?: Params | null) => requestSync('GET', url, null, params),
};
