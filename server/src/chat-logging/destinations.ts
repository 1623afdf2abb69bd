import { join } from 'node:path';
import type { DestinationConfiguration } from '../rooms/room.ts';

// Each logging destination of the real service (S3 bucket, CloudWatch Logs group or Firehose stream)
// maps to a local directory: <data dir>/logs/<kind>/<name>/. A name stays readable
// ("audit.example.com") but cannot act as a path: "%", "/" and "#" are percent-encoded, and so are
// the dots of a name made only of dots, so a log group like "/aws/../x" or a stream named ".."
// stays inside its kind's directory.

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
  const name = destination.name.replaceAll('%', '%25').replaceAll('/', '%2F').replaceAll('#', '%23');
  return join(dataDir, 'logs', destination.kind, /^\.+$/.test(name) ? name.replaceAll('.', '%2E') : name);
}
