import { destinationOf, type LogDestination } from '../chat-logging/destinations.ts';
import type { Store } from '../store/store.ts';
import type { FallbackResult, Room } from './room.ts';

/** What the message path needs to know about a room, resolved once per change, not per message. */
export interface RoomSettings {
  arn: string;
  maximumMessageLength: number;
  maximumMessageRatePerSecond: number;
  review: { uri: string; fallbackResult: FallbackResult } | undefined;
  logDestinations: LogDestination[];
}

export async function resolveRoomSettings(
  store: Store,
  room: Room,
  idOfLoggingConfiguration: (arn: string) => string | undefined,
): Promise<RoomSettings> {
  const logDestinations = await resolveLogDestinations(store, room, idOfLoggingConfiguration);
  return {
    arn: room.arn,
    maximumMessageLength: room.maximumMessageLength,
    maximumMessageRatePerSecond: room.maximumMessageRatePerSecond,
    review: room.messageReviewHandler.uri
      ? { uri: room.messageReviewHandler.uri, fallbackResult: room.messageReviewHandler.fallbackResult }
      : undefined,
    logDestinations,
  };
}

/** Where the room's messages and events are logged: the destinations of its logging configurations. */
export async function resolveLogDestinations(
  store: Store,
  room: Room,
  idOfLoggingConfiguration: (arn: string) => string | undefined,
): Promise<LogDestination[]> {
  const logDestinations: LogDestination[] = [];
  for (const arn of room.loggingConfigurationIdentifiers) {
    const id = idOfLoggingConfiguration(arn);
    const configuration = id === undefined ? undefined : await store.getLoggingConfiguration(id);
    const destination = configuration && destinationOf(configuration.destinationConfiguration);
    if (destination) logDestinations.push(destination);
  }
  return logDestinations;
}
