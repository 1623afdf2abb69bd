import { z } from 'zod';
import { attributesSchema } from '../attributes-schema.ts';
import { apiErrors, type ApiError } from '../errors.ts';

// Field rules of the IVS Chat API (ivs-chat-protocol.md §1), shared by the operations.

export const arnIdentifier = z
  .string()
  .min(1)
  .max(128)
  .regex(/^arn:aws:ivschat:[a-z0-9-]+:\d{12}:(room|logging-configuration)\/[a-zA-Z0-9]+$/, 'must be an ARN such as arn:aws:ivschat:us-east-1:123456789012:room/AbCdEfGh1234');

/** At most three per room, each named once: a repeated ARN would record every message twice. */
export const roomLoggingConfigurations = z
  .array(arnIdentifier)
  .max(3)
  .refine((arns) => new Set(arns).size === arns.length, 'must not name the same logging configuration twice');

export const resourceName = z
  .string()
  .max(128)
  .regex(/^[a-zA-Z0-9-_]*$/, 'may contain only letters, digits, "-" and "_"');

/** AWS reserves the prefix in any case ("aws:", "AWS:", "Aws:" …), per the tagging rules. */
export const tags = z
  .record(
    z
      .string()
      .min(1, 'tag keys are 1 to 128 characters')
      .max(128, 'tag keys are 1 to 128 characters')
      .refine((k) => k.slice(0, 4).toLowerCase() !== 'aws:', 'tag keys may not start with "aws:" in any case'),
    z.string().max(256, 'tag values are at most 256 characters'),
  )
  .refine((map) => Object.keys(map).length <= 50, 'at most 50 tags');

/** Token and event attributes: string to string, 1 KB of keys and values in total, __proto__ keys kept. */
export const attributes = attributesSchema;

export const reason = z.string().min(1, 'must be 1 to 256 characters').max(256, 'must be 1 to 256 characters');

export const userId = z.string().min(1, 'must be 1 to 128 characters').max(128, 'must be 1 to 128 characters');

/**
 * The real service takes only a Lambda ARN here; chatstorm also takes an http(s) URL, the local
 * stand-in for the Lambda (see review/review-message.ts). An empty uri means no handler.
 */
export const reviewHandlerUri = z
  .string()
  .max(170)
  .refine(
    (uri) => uri === '' || /^arn:aws:lambda:[a-z0-9-]+:[0-9]{12}:function:.+/.test(uri) || /^https?:\/\/[^\s]+$/.test(uri),
    'must be empty, a Lambda function ARN, or an http(s) URL',
  );

export const messageReviewHandler = z.object({
  uri: reviewHandlerUri.optional(),
  fallbackResult: z.enum(['ALLOW', 'DENY']).optional(),
});

export const maxResults = z.number().int().min(1).max(50);
export const nextToken = z.string().max(1024);

/**
 * A body of 256 KiB can hold tens of thousands of bad entries; reporting each would answer with
 * megabytes. The first few say what is wrong.
 */
const MAX_REPORTED_FIELDS = 20;

export function validationErrorOf(error: z.ZodError): ApiError {
  const fieldList = error.issues.slice(0, MAX_REPORTED_FIELDS).map((issue) => ({
    name: issue.path.map(String).join('.') || 'body',
    // zod reports a record key that fails its schema as "Invalid key in record"; the key's own
    // message (e.g. the aws: prefix rule for tags) is inside.
    message: issue.code === 'invalid_key' && issue.issues.length > 0 ? issue.issues.map((inner) => inner.message).join('; ') : issue.message,
  }));
  return apiErrors.fieldValidation(fieldList, error.issues.length - fieldList.length);
}
