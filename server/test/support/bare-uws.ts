import { loadUws } from '../../src/uws.ts';

export interface BareUws {
  port: number;
  close(): void;
}

/**
 * A bare uWebSockets.js server (the same package chatstorm runs on, nothing of chatstorm's): any
 * HTTP request is read whole and answered 200, any WebSocket echoes. What the engine does on its
 * own, to set beside what chatstorm does with the same input.
 */
export function startBareUws(options: { idleTimeoutSeconds: number }): Promise<BareUws> {
  const { uws } = loadUws();
  const app = uws.App();
  app.ws('/*', {
    idleTimeout: options.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    message: (ws, message, isBinary) => void ws.send(message, isBinary),
  });
  app.any('/*', (res) => {
    res.onAborted(() => {});
    res.onData((_chunk, isLast) => {
      if (isLast) res.cork(() => res.end('ok'));
    });
  });
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (listenSocket) => {
      if (!listenSocket) return reject(new Error('the bare uWebSockets.js server cannot listen'));
      resolve({ port: uws.us_socket_local_port(listenSocket as never), close: () => uws.us_listen_socket_close(listenSocket) });
    });
  });
}
