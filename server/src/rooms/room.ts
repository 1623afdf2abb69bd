// The records the control plane keeps, in the shapes the API returns (ivs-chat-protocol.md §1).

export type FallbackResult = 'ALLOW' | 'DENY';

export interface MessageReviewHandler {
  /** '' means the room has no handler, as UpdateRoom with an empty uri removes it. */
  uri: string;
  fallbackResult: FallbackResult;
}

export interface Room {
  arn: string;
  id: string;
  name: string;
  createTime: string;
  updateTime: string;
  maximumMessageRatePerSecond: number;
  maximumMessageLength: number;
  messageReviewHandler: MessageReviewHandler;
  tags: Record<string, string>;
  loggingConfigurationIdentifiers: string[];
}

export const ROOM_DEFAULTS = {
  maximumMessageRatePerSecond: 10,
  maximumMessageLength: 500,
  fallbackResult: 'ALLOW' as FallbackResult,
};

export interface DestinationConfiguration {
  s3?: { bucketName: string };
  cloudWatchLogs?: { logGroupName: string };
  firehose?: { deliveryStreamName: string };
}

export type LoggingConfigurationState =
  | 'ACTIVE'
  | 'CREATING'
  | 'CREATE_FAILED'
  | 'UPDATING'
  | 'UPDATE_FAILED'
  | 'DELETING'
  | 'DELETE_FAILED';

export interface LoggingConfiguration {
  arn: string;
  id: string;
  name: string;
  createTime: string;
  updateTime: string;
  destinationConfiguration: DestinationConfiguration;
  state: LoggingConfigurationState;
  tags: Record<string, string>;
}
