// Errors are values with the protocol's codes, made here and serialized in one place each:
// ApiError by control-plane/respond.ts, ChatError by messaging/frames.ts.

export type ValidationReason = 'UNKNOWN_OPERATION' | 'FIELD_VALIDATION_FAILED' | 'OTHER';
export interface ValidationField {
  name: string;
  message: string;
}

export type ApiErrorType =
  | 'ValidationException'
  | 'AccessDeniedException'
  | 'PendingVerification'
  | 'ResourceNotFoundException'
  | 'ConflictException'
  | 'ServiceQuotaExceededException'
  | 'ThrottlingException'
  | 'InternalServerException'
  // The common errors of AWS's request authentication (SigV4), raised only with --auth sigv4.
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

const STATUS: Record<ApiErrorType, number> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  PendingVerification: 403,
  ResourceNotFoundException: 404,
  ConflictException: 409,
  ServiceQuotaExceededException: 402,
  ThrottlingException: 429,
  InternalServerException: 500,
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 403,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
};

export class ApiError {
  readonly status: number;
  constructor(
    readonly type: ApiErrorType,
    readonly message: string,
    /** Extra members of the error shape (reason, fieldList, resourceId, resourceType, limit). */
    readonly fields: Readonly<Record<string, unknown>> = {},
  ) {
    this.status = STATUS[type];
  }

  toBody(): Record<string, unknown> {
    return { message: this.message, ...this.fields };
  }
}

export const apiErrors = {
  validation(message: string, reason: ValidationReason = 'OTHER', fieldList?: ValidationField[]): ApiError {
    return new ApiError('ValidationException', message, fieldList ? { reason, fieldList } : { reason });
  },
  /** `omitted`: how many more invalid fields there were than fieldList reports. */
  fieldValidation(fieldList: ValidationField[], omitted = 0): ApiError {
    let message = fieldList.map((f) => `${f.name}: ${f.message}`).join('; ');
    if (omitted > 0) message += `; and ${omitted} more`;
    return new ApiError('ValidationException', message, { reason: 'FIELD_VALIDATION_FAILED', fieldList });
  },
  unknownOperation(method: string, path: string): ApiError {
    return new ApiError('ValidationException', `Unknown operation: ${method} ${path}`, { reason: 'UNKNOWN_OPERATION' });
  },
  /** resourceType is always ROOM: the real API's enum has nothing else, so logging configurations report it too. */
  notFound(resourceId: string, what = 'Room'): ApiError {
    return new ApiError('ResourceNotFoundException', `${what} not found: ${resourceId}`, {
      resourceId,
      resourceType: 'ROOM',
    });
  },
  conflict(resourceId: string, message: string): ApiError {
    return new ApiError('ConflictException', message, { resourceId, resourceType: 'ROOM' });
  },
  quotaExceeded(resourceId: string, limit: number, message: string): ApiError {
    return new ApiError('ServiceQuotaExceededException', message, { resourceId, resourceType: 'ROOM', limit });
  },
  throttled(resourceId: string, limit: number, message: string): ApiError {
    return new ApiError('ThrottlingException', message, { resourceId, resourceType: 'ROOM', limit });
  },
  accessDenied(message: string): ApiError {
    return new ApiError('AccessDeniedException', message);
  },
  /** Messages as AWS words them, so that what a user searches for finds the real explanation. */
  missingAuthentication(): ApiError {
    return new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  },
  incompleteSignature(message: string): ApiError {
    return new ApiError('IncompleteSignatureException', message);
  },
  invalidSignature(
    message = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  ): ApiError {
    return new ApiError('InvalidSignatureException', message);
  },
  unrecognizedClient(): ApiError {
    return new ApiError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  },
  internal(message = 'Internal server error'): ApiError {
    return new ApiError('InternalServerException', message);
  },
};

/** ErrorCode values of the messaging API's ERROR frame (the SDK's chatErrorCodes). */
export type ChatErrorCode = 400 | 401 | 403 | 404 | 406 | 413 | 429 | 500;

export class ChatError {
  constructor(
    readonly code: ChatErrorCode,
    readonly message: string,
  ) {}
}
