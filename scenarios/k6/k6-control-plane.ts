import http from 'k6/http';
import { ControlPlaneError, type ControlPlane, type RoomRef, type TokenRequest } from '../lib/ports.ts';

// The control plane through k6/http: asynchronous calls during the run (a VU holds hundreds of
// viewers and must not block on each token), synchronous ones in setup and teardown. chatstorm
// does not check SigV4; against real IVS, mint tokens elsewhere (k6 cannot sign with SigV4).

const HEADERS = { 'content-type': 'application/json' };

function check<T>(operation: string, status: number, body: string | null, errorType: string | undefined): T {
  if (status >= 200 && status < 300) return (body ? JSON.parse(body) : {}) as T;
  throw new ControlPlaneError(operation, status, errorType ?? 'UnknownError', body ?? '');
}

export class K6ControlPlane implements ControlPlane {
  constructor(private readonly base: string) {}

  private async call<T>(operation: string, body: unknown): Promise<T> {
    const res = await http.asyncRequest('POST', `${this.base}/${operation}`, JSON.stringify(body), {
      headers: HEADERS,
      tags: { name: operation },
    });
    return check<T>(operation, res.status, res.body as string | null, res.headers['X-Amzn-Errortype']);
  }

  callSync<T>(operation: string, body: unknown): T {
    const res = http.post(`${this.base}/${operation}`, JSON.stringify(body), { headers: HEADERS, tags: { name: operation } });
    return check<T>(operation, res.status, res.body as string | null, res.headers['X-Amzn-Errortype']);
  }

  createRoomSync(name: string, maximumMessageRatePerSecond: number): RoomRef {
    const room = this.callSync<{ arn: string; id: string }>('CreateRoom', { name, maximumMessageRatePerSecond });
    return { arn: room.arn, id: room.id };
  }

  async createRoom(name: string, maximumMessageRatePerSecond: number): Promise<RoomRef> {
    const room = await this.call<{ arn: string; id: string }>('CreateRoom', { name, maximumMessageRatePerSecond });
    return { arn: room.arn, id: room.id };
  }

  async createChatToken(r: TokenRequest): Promise<string> {
    const out = await this.call<{ token: string }>('CreateChatToken', {
      roomIdentifier: r.roomArn,
      userId: r.userId,
      capabilities: r.capabilities,
      sessionDurationInMinutes: r.sessionDurationInMinutes,
    });
    return out.token;
  }

  async deleteMessage(roomArn: string, id: string, reason: string): Promise<void> {
    await this.call('DeleteMessage', { roomIdentifier: roomArn, id, reason });
  }

  async disconnectUser(roomArn: string, userId: string, reason: string): Promise<void> {
    await this.call('DisconnectUser', { roomIdentifier: roomArn, userId, reason });
  }

  async deleteRoom(roomArn: string): Promise<void> {
    await this.call('DeleteRoom', { identifier: roomArn });
  }
}
