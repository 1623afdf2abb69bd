import { WebSocket } from 'k6/websockets';
import type { ChatSocket, SocketEvents, Transport } from '../lib/ports.ts';

// xk6-websockets as the viewer's socket. Two k6 facts shape this file:
//  - the constructor ignores its protocols argument, so the chat token goes in the
//    Sec-WebSocket-Protocol header itself;
//  - close() on a socket still connecting blocks the VU (it queues a close frame nobody reads
//    yet), so a close asked for during the handshake waits for the open event.
// Older k6 reports no close code; an error before the close is taken as an abnormal close.

export class K6Transport implements Transport {
  /** Payload characters (bytes: the protocol's frames are ASCII here) since the last take(). */
  private received = 0;
  private sent = 0;

  /** `probe.frame()` runs before each message: the lag probe counts the frames queued ahead of it. */
  constructor(private readonly probe?: { frame(): void }) {}

  takeBytes(): { received: number; sent: number } {
    const out = { received: this.received, sent: this.sent };
    this.received = 0;
    this.sent = 0;
    return out;
  }

  open(url: string, token: string, events: SocketEvents): ChatSocket {
    const probe = this.probe;
    const self = this;
    const ws = new WebSocket(url, null, { headers: { 'Sec-WebSocket-Protocol': token } });
    let opened = false;
    let closeAsked = false;
    let error = '';
    ws.onopen = () => {
      opened = true;
      if (closeAsked) ws.close();
      events.onOpen();
    };
    ws.onmessage = (event) => {
      probe?.frame();
      const data = event?.data;
      if (typeof data === 'string') {
        self.received += data.length;
        events.onMessage(data);
      }
    };
    ws.onerror = (event) => {
      error = event?.error ?? 'error';
    };
    // onclose rather than addEventListener: the oldest k6 this must run on has only the former.
    ws.onclose = (event?: { code?: number }) => {
      const code = event?.code ?? (error ? 1006 : 1000);
      // gorilla/websocket's words for a non-101 answer to the upgrade.
      events.onClose(code, !opened && /bad handshake/.test(error));
    };
    return {
      send: (text: string) => {
        self.sent += text.length;
        ws.send(text);
      },
      close: () => {
        if (opened) ws.close();
        else closeAsked = true;
      },
    };
  }

  text(): string {
    // k6 hands text frames over as strings; bytes never reach the viewer.
    return '';
  }
}
