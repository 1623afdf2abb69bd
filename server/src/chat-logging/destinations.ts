import { join } from 'node:path';
import type { DestinationConfiguration } from '../rooms/room.ts';

// Each logging destination of the real service (S3 bucket, CloudWatch Logs group, Firehose stream)
// maps to a local directory: <data dir>/logs/<kind>/<name>/. Names are percent-encoded, dots too,
// so a log group such as "/aws/../x" cannot climb out of the logs directory.

export interface LogDestination {
  kind: 's3' | 'cloudwatch-logs' | 'firehose';
  name: string;
}

export function destinationOf(configuration: DestinationConfiguration): LogDestination | undefined {
  if (configuration.s3) return { kind: 's3', name: configuration.s3.bucketName };
  if (configuration.cloudWatchLogs) return { kind: 'cloudwatch-logs', name: configuration.cloudWatchLogs.logGroupName };
  if (configuration.firehose) return { kind: 'firehose', name: configuration.firehose.deliveryStreamName };
  return undefined;
}

export function destinationDirectory(dataDir: string, destination: LogDestination): string {
  const safeName = encodeURIComponent(destination.name).replaceAll('.', '%2E');
  return join(dataDir, 'logs', destination.kind, safeName);
}
