import type { ControlPlane, RoomRef, TokenRequest } from './ports.ts';

/**
 * The IVS Chat control plane as restJson1 bodies (POST /<Operation> with JSON), written once for
 * every engine: each engine only supplies `call`, its way of sending one request (node:http in the
 * runner, k6/http in k6).
 */
export abstract class JsonControlPlane implements ControlPlane {
  protected abstract call<T>(operation: string, body: unknown): Promise<T>;

  async createRoom(name: string, maximumMessageRatePerSecond: number, loggingConfigurationArns?: string[]): Promise<RoomRef> {
    const room = await this.call<{ arn: string; id: string }>('CreateRoom', createRoomBody(name, maximumMessageRatePerSecond, loggingConfigurationArns));
    return { arn: room.arn, id: room.id };
  }

  async findRoom(name: string): Promise<RoomRef | undefined> {
    const out = await this.call<{ rooms?: { arn: string; id: string }[] }>('ListRooms', { name, maxResults: 1 });
    const room = out.rooms?.[0];
    return room ? { arn: room.arn, id: room.id } : undefined;
  }

  async createLoggingConfiguration(name: string, bucketName: string): Promise<{ arn: string }> {
    const out = await this.call<{ arn: string }>('CreateLoggingConfiguration', { name, destinationConfiguration: { s3: { bucketName } } });
    return { arn: out.arn };
  }

  async deleteLoggingConfiguration(arn: string): Promise<void> {
    await this.call('DeleteLoggingConfiguration', { identifier: arn });
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

  async sendEvent(roomArn: string, eventName: string, attributes: Record<string, string>): Promise<void> {
    await this.call('SendEvent', { roomIdentifier: roomArn, eventName, ...(Object.keys(attributes).length ? { attributes } : {}) });
  }

  async deleteRoom(roomArn: string): Promise<void> {
    await this.call('DeleteRoom', { identifier: roomArn });
  }
}

export function createRoomBody(name: string, maximumMessageRatePerSecond: number, loggingConfigurationArns?: string[]) {
  return loggingConfigurationArns?.length
    ? { name, maximumMessageRatePerSecond, loggingConfigurationIdentifiers: loggingConfigurationArns }
    : { name, maximumMessageRatePerSecond };
}
