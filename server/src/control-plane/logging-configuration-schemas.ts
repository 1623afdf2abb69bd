import { z } from 'zod';

/** Exactly one destination: an S3 bucket, a CloudWatch Logs group or a Firehose delivery stream. */
export const destinationConfiguration = z
  .object({
    s3: z.object({ bucketName: z.string().min(3).max(63).regex(/^[a-z0-9-.]+$/, 'may contain only a-z, 0-9, "-" and "."') }).optional(),
    cloudWatchLogs: z.object({ logGroupName: z.string().min(1).max(512).regex(/^[\.\-_/#A-Za-z0-9]+$/, 'may contain only letters, digits and . - _ / #') }).optional(),
    firehose: z.object({ deliveryStreamName: z.string().min(1).max(64).regex(/^[a-zA-Z0-9_.-]+$/, 'may contain only letters, digits and _ . -') }).optional(),
  })
  .refine((d) => [d.s3, d.cloudWatchLogs, d.firehose].filter(Boolean).length === 1, 'exactly one of s3, cloudWatchLogs or firehose');
