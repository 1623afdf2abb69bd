import {
  CreateChatTokenCommand,
  CreateLoggingConfigurationCommand,
  CreateRoomCommand,
  DeleteLoggingConfigurationCommand,
  DeleteMessageCommand,
  DeleteRoomCommand,
  DisconnectUserCommand,
  IvschatClient,
  IvschatServiceException,
  ListRoomsCommand,
  SendEventCommand,
} from '@aws-sdk/client-ivschat';
import { ControlPlaneError, type ControlPlane, type RoomRef, type TokenRequest } from '../lib/ports.ts';

// The real Amazon IVS Chat control plane (SigV4-signed by the SDK; credentials come from the usual
// AWS environment: variables, profile, SSO, instance role). An endpoint override points the same
// client at a chatstorm that checks signatures.

export class AwsControlPlane implements ControlPlane {
  private readonly client: IvschatClient;

  constructor(region: string, endpoint?: string) {
    this.client = new IvschatClient({ region, ...(endpoint ? { endpoint } : {}), maxAttempts: 3 });
  }

  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof IvschatServiceException) {
        throw new ControlPlaneError(operation, error.$metadata.httpStatusCode ?? 0, error.name, error.message);
      }
      throw new ControlPlaneError(operation, 0, 'NetworkError', (error as Error).message);
    }
  }

  async createRoom(name: string, maximumMessageRatePerSecond: number, loggingConfigurationArns?: string[]): Promise<RoomRef> {
    const room = await this.call('CreateRoom', () =>
      this.client.send(
        new CreateRoomCommand({
          name,
          maximumMessageRatePerSecond,
          ...(loggingConfigurationArns?.length ? { loggingConfigurationIdentifiers: loggingConfigurationArns } : {}),
        }),
      ),
    );
    return { arn: room.arn!, id: room.id! };
  }

  async findRoom(name: string): Promise<RoomRef | undefined> {
    const out = await this.call('ListRooms', () => this.client.send(new ListRoomsCommand({ name, maxResults: 1 })));
    const room = out.rooms?.[0];
    return room ? { arn: room.arn!, id: room.id! } : undefined;
  }

  async createLoggingConfiguration(name: string, bucketName: string): Promise<{ arn: string }> {
    const out = await this.call('CreateLoggingConfiguration', () =>
      this.client.send(new CreateLoggingConfigurationCommand({ name, destinationConfiguration: { s3: { bucketName } } })),
    );
    return { arn: out.arn! };
  }

  async deleteLoggingConfiguration(arn: string): Promise<void> {
    await this.call('DeleteLoggingConfiguration', () => this.client.send(new DeleteLoggingConfigurationCommand({ identifier: arn })));
  }

  async createChatToken(r: TokenRequest): Promise<string> {
    const out = await this.call('CreateChatToken', () =>
      this.client.send(
        new CreateChatTokenCommand({
          roomIdentifier: r.roomArn,
          userId: r.userId,
          capabilities: r.capabilities,
          sessionDurationInMinutes: r.sessionDurationInMinutes,
        }),
      ),
    );
    return out.token!;
  }

  async deleteMessage(roomArn: string, id: string, reason: string): Promise<void> {
    await this.call('DeleteMessage', () => this.client.send(new DeleteMessageCommand({ roomIdentifier: roomArn, id, reason })));
  }

  async disconnectUser(roomArn: string, userId: string, reason: string): Promise<void> {
    await this.call('DisconnectUser', () => this.client.send(new DisconnectUserCommand({ roomIdentifier: roomArn, userId, reason })));
  }

  async sendEvent(roomArn: string, eventName: string, attributes: Record<string, string>): Promise<void> {
    const input = { roomIdentifier: roomArn, eventName, ...(Object.keys(attributes).length ? { attributes } : {}) };
    await this.call('SendEvent', () => this.client.send(new SendEventCommand(input)));
  }

  async deleteRoom(roomArn: string): Promise<void> {
    await this.call('DeleteRoom', () => this.client.send(new DeleteRoomCommand({ identifier: roomArn })));
  }
}
