import { CreateChatTokenCommand, CreateRoomCommand, type CreateRoomCommandInput } from '@aws-sdk/client-ivschat';
import WebSocket from 'ws';
import type { TestServer } from './server.ts';

// The messaging SDK expects a browser-style global WebSocket; in Node it is `ws`.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const sdk = await import('amazon-ivs-chat-messaging');
export const { ChatRoom, SendMessageRequest, DeleteMessageRequest, DisconnectUserRequest } = sdk;
export type ChatRoomInstance = InstanceType<typeof sdk.ChatRoom>;

export type CapabilityName = 'SEND_MESSAGE' | 'DELETE_MESSAGE' | 'DISCONNECT_USER';

export async function createRoom(server: TestServer, input: CreateRoomCommandInput = {}) {
  const room = await server.client.send(new CreateRoomCommand(input));
  return { arn: room.arn!, id: room.id! };
}

export async function createToken(
  server: TestServer,
  roomArn: string,
  userId: string,
  capabilities: CapabilityName[] = ['SEND_MESSAGE'],
  extra: { attributes?: Record<string, string>; sessionDurationInMinutes?: number } = {},
) {
  const out = await server.client.send(new CreateChatTokenCommand({ roomIdentifier: roomArn, userId, capabilities, ...extra }));
  return { token: out.token!, tokenExpirationTime: out.tokenExpirationTime!, sessionExpirationTime: out.sessionExpirationTime! };
}

/** An official ChatRoom, connected; every connect fetches a fresh token. */
export async function connectChatRoom(
  server: TestServer,
  roomArn: string,
  userId: string,
  capabilities: CapabilityName[] = ['SEND_MESSAGE'],
  extra: { attributes?: Record<string, string> } = {},
): Promise<ChatRoomInstance> {
  const room = new ChatRoom({
    regionOrUrl: server.wsUrl,
    tokenProvider: () => createToken(server, roomArn, userId, capabilities, extra),
  });
  room.logLevel = 'error';
  room.logger = { debug() {}, info() {}, error() {} } as unknown as typeof room.logger;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${userId} did not connect within 5 s`)), 5000);
    const stop = room.addListener('connect', () => {
      clearTimeout(timer);
      stop();
      resolve();
    });
    room.connect();
  });
  return room;
}

/** Resolves with the first event of that name the room emits, or rejects after `ms`. */
export function nextEvent<T = unknown>(room: ChatRoomInstance, name: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no "${name}" event within ${ms} ms`));
    }, ms);
    const stop = (room.addListener as (n: string, l: (v: T) => void) => () => void)(name, (value: T) => {
      clearTimeout(timer);
      stop();
      resolve(value);
    });
  });
}
