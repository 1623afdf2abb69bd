import { randomUUID } from 'node:crypto';
import type { HttpResponse } from 'uWebSockets.js';
import type { ApiError } from '../errors.ts';

// The restJson1 shapes the AWS SDK reads: JSON bodies, the error type in x-amzn-errortype (the
// SDK maps it to its typed exception) and again as __type in the body for other clients.

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  204: '204 No Content',
  400: '400 Bad Request',
  402: '402 Payment Required',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
};

export interface ResponseState {
  aborted: boolean;
}

export function sendJson(res: HttpResponse, state: ResponseState, status: 200 | 204, body: unknown): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[status]!).writeHeader('x-amzn-requestid', randomUUID());
    if (status === 204) {
      res.endWithoutBody();
      return;
    }
    res.writeHeader('content-type', 'application/json').end(JSON.stringify(body ?? {}));
  });
}

export function sendApiError(res: HttpResponse, state: ResponseState, error: ApiError, closeConnection = false): void {
  if (state.aborted) return;
  res.cork(() => {
    res
      .writeStatus(STATUS_TEXT[error.status]!)
      .writeHeader('x-amzn-requestid', randomUUID())
      .writeHeader('x-amzn-errortype', error.type)
      .writeHeader('content-type', 'application/json')
      .end(JSON.stringify({ __type: error.type, ...error.toBody() }), closeConnection);
  });
}
