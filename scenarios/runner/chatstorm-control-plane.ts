import http from 'node:http';
import https from 'node:https';
import { JsonControlPlane } from '../lib/json-control-plane.ts';
import { ControlPlaneError } from '../lib/ports.ts';

// The IVS Chat control plane over plain HTTP (restJson1: POST /<Operation> with a JSON body).
// chatstorm does not check SigV4 signatures, so plain requests are enough and cost far less per
// token than the SDK; real AWS goes through aws-control-plane.ts instead. node:http with a small
// keep-alive pool rather than fetch: a token per connection means thousands of calls, and fetch's
// per-request garbage showed up as generator memory per viewer.

const FREE_SOCKET_TIMEOUT_MS = 4000;

export class ChatstormControlPlane extends JsonControlPlane {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly client: typeof http | typeof https;

  constructor(url: string, maxSockets = 64) {
    super();
    this.url = new URL(url);
    this.client = this.url.protocol === 'https:' ? https : http;
    // uWebSockets.js closes an HTTP connection after 10 s idle. A pooled socket reused just as the
    // server closes it fails with no answer at all: free sockets are dropped well before that, and
    // the one race left (reset on a reused socket, before any answer) is retried once, as Node's
    // documentation advises: the server closed that socket idle, so it never read the request.
    this.agent = new this.client.Agent({ keepAlive: true, maxSockets, timeout: FREE_SOCKET_TIMEOUT_MS });
  }

  protected call<T>(operation: string, body: unknown): Promise<T> {
    return this.send<T>(operation, JSON.stringify(body), true);
  }

  private send<T>(operation: string, payload: string, mayRetry: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const request = this.client.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path: `${this.url.pathname.replace(/\/+$/, '')}/${operation}`,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve((text ? JSON.parse(text) : {}) as T);
              } catch {
                reject(new ControlPlaneError(operation, status, 'InvalidResponse', text.slice(0, 200)));
              }
              return;
            }
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              // not JSON: keep the raw text
            }
            const type = response.headers['x-amzn-errortype'];
            reject(new ControlPlaneError(operation, status, typeof type === 'string' ? type : 'UnknownError', message));
          });
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (mayRetry && request.reusedSocket && error.code === 'ECONNRESET') resolve(this.send<T>(operation, payload, false));
        else reject(new ControlPlaneError(operation, 0, 'NetworkError', error.message));
      });
      request.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
