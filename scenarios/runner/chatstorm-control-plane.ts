import { ControlPlaneError, type ControlPlane, type RoomRef, type TokenRequest } from '../lib/ports.ts';

// The IVS Chat control plane over plain HTTP (restJson1: POST /<Operation> with a JSON body).
// chatstorm does not check SigV4 signatures, so fetch is enough and costs far less per token than
// the SDK; real AWS goes through aws-control-plane.ts instead.

export class ChatstormControlPlane implements ControlPlane {
  private readonly base: string;

  constructor(url: string) {
    this.base = url.replace(/\/+$/, '');
  }

  private async call<T>(operation: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/${operation}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new ControlPlaneError(operation, 0, 'NetworkError', (error as Error).message);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: keep the raw text
      }
      throw new ControlPlaneError(operation, response.status, response.headers.get('x-amzn-errortype') ?? 'UnknownError', message);
    }
    return (text ? JSON.parse(text) : {}) as T;
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
