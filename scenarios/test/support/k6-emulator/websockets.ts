import WsClient from 'ws';
import { emulation } from './state.ts';

// k6/websockets (and k6/experimental/websockets) as xk6-websockets behaves, over ws:
//  - the protocols argument is ignored; the script must send the token as a header;
//  - events: onopen(), onmessage({data}), onerror({error}), onclose() without a close code
//    (k6 v0.48); an upgrade answered with anything but 101 is "websocket: bad handshake";
//  - messages that arrive once the script called close() are dropped;
//  - send() outside OPEN throws, and close() while CONNECTING is recorded as a violation,
//    because in k6 it queues a frame nobody reads yet and blocks the VU.

type Handler = ((event?: never) => void) | null;

export class WebSocket {
  readyState = 0;
  onopen: Handler = null;
  onmessage: Handler = null;
  onerror: Handler = null;
  onclose: Handler = null;
  onping: Handler = null;
  onpong: Handler = null;
  private readonly ws: WsClient;
  private error = '';

  constructor(url: string, protocols: unknown, params?: { headers?: Record<string, string> } | null) {
    emulation.sockets.opened++;
    if (protocols !== null && protocols !== undefined) emulation.violations.push('WebSocket: k6 ignores the protocols argument');
    const token = params?.headers?.['Sec-WebSocket-Protocol'];
    if (token) emulation.sockets.tokenInHeader++;
    // ws checks the answered subprotocol against the ones it asked for, so the header goes in as
    // ws's protocols: the same bytes on the wire as k6 sends.
    this.ws = new WsClient(url, token ? [token] : [], { perMessageDeflate: false });
    this.ws.on('open', () => {
      this.readyState = 1;
      this.call(this.onopen, undefined);
    });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.readyState !== 1) return;
      this.call(this.onmessage, { data: isBinary ? data : data.toString('utf8'), type: 'message', timestamp: Date.now() });
    });
    this.ws.on('error', (error: Error) => {
      this.error = error.message.startsWith('Unexpected server response') ? 'websocket: bad handshake' : error.message;
    });
    this.ws.on('close', (code: number) => {
      if (this.readyState === 3) return;
      this.readyState = 3;
      // k6 passes clean closes (1000, 1001) without an error, anything else with one.
      if (this.error || (code !== 1000 && code !== 1001 && code !== 1005)) {
        this.call(this.onerror, { error: this.error || `websocket: close ${code}`, type: 'error', timestamp: Date.now() });
      }
      this.call(this.onclose, { type: 'close', timestamp: Date.now() });
    });
  }

  private call(handler: Handler, event: unknown): void {
    if (!handler) return;
    try {
      (handler as (e: unknown) => void)(event);
    } catch (error) {
      emulation.violations.push(`a WebSocket handler threw: ${(error as Error).stack}`);
    }
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('InvalidStateError');
    this.ws.send(data);
  }

  close(code = 1000): void {
    if (this.readyState === 0) {
      emulation.violations.push('WebSocket.close() while CONNECTING (blocks a k6 VU)');
      return;
    }
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.ws.close(code);
  }

  addEventListener(): void {
    emulation.violations.push('addEventListener is missing from k6 v0.48 websockets; use the on* properties');
  }
}
