import http from 'k6/http';
import { createRoomBody, JsonControlPlane } from '../lib/json-control-plane.ts';
import { ControlPlaneError, type RoomRef } from '../lib/ports.ts';

// The control plane through k6/http: asynchronous calls during the run (a VU holds hundreds of
// viewers and must not block on each token), synchronous ones in setup and teardown. chatstorm
// does not check SigV4; against real IVS, mint tokens elsewhere (k6 cannot sign with SigV4).

const HEADERS = { 'content-type': 'application/json' };

function check<T>(operation: string, status: number, body: string | null, errorType: string | undefined): T {
  if (status >= 200 && status < 300) return (body ? JSON.parse(body) : {}) as T;
  throw new ControlPlaneError(operation, status, errorType ?? 'UnknownError', body ?? '');
}

export class K6ControlPlane extends JsonControlPlane {
  constructor(private readonly base: string) {
    super();
  }

  protected async call<T>(operation: string, body: unknown): Promise<T> {
    const res = await http.asyncRequest('POST', `${this.base}/${operation}`, JSON.stringify(body), {
      headers: HEADERS,
      tags: { name: operation },
    });
    return check<T>(operation, res.status, res.body as string | null, res.headers['X-Amzn-Errortype']);
  }

  /** setup() and teardown() run once per test, where blocking is what k6 expects. */
  createRoomSync(name: string, maximumMessageRatePerSecond: number): RoomRef {
    const room = this.callSync<{ arn: string; id: string }>('CreateRoom', createRoomBody(name, maximumMessageRatePerSecond));
    return { arn: room.arn, id: room.id };
  }

  findRoomSync(name: string): RoomRef | undefined {
    const out = this.callSync<{ rooms?: { arn: string; id: string }[] }>('ListRooms', { name, maxResults: 1 });
    const room = out.rooms?.[0];
    return room ? { arn: room.arn, id: room.id } : undefined;
  }

  callSync<T>(operation: string, body: unknown): T {
    const res = http.post(`${this.base}/${operation}`, JSON.stringify(body), { headers: HEADERS, tags: { name: operation } });
    return check<T>(operation, res.status, res.body as string | null, res.headers['X-Amzn-Errortype']);
  }
}
