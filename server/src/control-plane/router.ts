import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { z } from 'zod';
import { BusUnavailableError } from '../bus/bus.ts';
import type { Context } from '../context.ts';
import { ApiError, apiErrors } from '../errors.ts';
import type { HttpBodyRefusal } from '../metrics.ts';
import { API_QUOTAS } from './api-quotas.ts';
import { BodyTimeoutError, BodyTooLargeError, readBody, type BodyLimits } from '../http/read-body.ts';
import { StorageWriteError } from '../store/write-health.ts';
import { createChatToken } from './create-chat-token.ts';
import { createLoggingConfiguration } from './create-logging-configuration.ts';
import { createRoom } from './create-room.ts';
import { deleteLoggingConfiguration } from './delete-logging-configuration.ts';
import { deleteMessage } from './delete-message.ts';
import { deleteRoom } from './delete-room.ts';
import { disconnectUser } from './disconnect-user.ts';
import { getLoggingConfiguration } from './get-logging-configuration.ts';
import { getRoom } from './get-room.ts';
import { listLoggingConfigurations } from './list-logging-configurations.ts';
import { listRooms } from './list-rooms.ts';
import { listTagsForResource } from './list-tags-for-resource.ts';
import type { Operation } from './operation.ts';
import { sendApiError, sendJson, type ResponseState } from './respond.ts';
import { validationErrorOf } from './schemas.ts';
import { sendEvent } from './send-event.ts';
import { tagResource } from './tag-resource.ts';
import { untagResource } from './untag-resource.ts';
import { updateLoggingConfiguration } from './update-logging-configuration.ts';
import { updateRoom } from './update-room.ts';
import { requestAuthenticator } from './verify-signature.ts';

/** The largest valid request (50 tags, escaped) is far below this. */
const MAX_BODY_BYTES = 256 * 1024;
/** Of a larger body, this much more is drained so that the client reads the refusal (read-body.ts). */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

/** Every operation except the tag ones is POST /<OperationName> with a JSON body. */
export const POST_OPERATION_LIST: readonly Operation[] = [
  createRoom,
  getRoom,
  updateRoom,
  deleteRoom,
  listRooms,
  createChatToken,
  sendEvent,
  deleteMessage,
  disconnectUser,
  createLoggingConfiguration,
  getLoggingConfiguration,
  updateLoggingConfiguration,
  deleteLoggingConfiguration,
  listLoggingConfigurations,
] as Operation[];
const POST_OPERATIONS = new Map<string, Operation>(POST_OPERATION_LIST.map((operation) => [`/${operation.name}`, operation]));

/** The tag operations address the resource in the path: /tags/{resourceArn}. */
const TAG_OPERATIONS: Record<string, Operation> = {
  post: tagResource as Operation,
  delete: untagResource as Operation,
  get: listTagsForResource as Operation,
};

interface Route {
  operation: Operation;
  /** Input members taken from the path and query string. */
  params: Record<string, unknown>;
  hasBody: boolean;
}

function route(method: string, url: string, query: string): Route | ApiError {
  if (url.startsWith('/tags/')) {
    const operation = TAG_OPERATIONS[method];
    if (!operation) return apiErrors.unknownOperation(method.toUpperCase(), url);
    let resourceArn: string;
    try {
      resourceArn = decodeURIComponent(url.slice('/tags/'.length));
    } catch {
      return apiErrors.fieldValidation([{ name: 'resourceArn', message: 'is not a valid percent-encoded path segment' }]);
    }
    const params: Record<string, unknown> = { resourceArn };
    if (method === 'delete') params.tagKeys = new URLSearchParams(query).getAll('tagKeys');
    return { operation, params, hasBody: method === 'post' };
  }
  const operation = POST_OPERATIONS.get(url);
  if (!operation || method !== 'post') return apiErrors.unknownOperation(method.toUpperCase(), url);
  return { operation, params: {}, hasBody: true };
}

export function registerControlPlane(app: TemplatedApp, ctx: Context): void {
  const limits: BodyLimits = { maxBytes: MAX_BODY_BYTES, maxDrainBytes: MAX_DRAIN_BYTES, timeoutMs: ctx.config.httpBodyTimeoutSeconds * 1000 };
  const authenticate = requestAuthenticator(ctx);
  app.any('/*', (res, req) => handleApiRequest(ctx, limits, authenticate, res, req));
}

function handleApiRequest(
  ctx: Context,
  limits: BodyLimits,
  authenticate: ReturnType<typeof requestAuthenticator>,
  res: HttpResponse,
  req: HttpRequest,
): void {
  const started = performance.now();
  const state: ResponseState = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  const method = req.getMethod();
  const verify = authenticate?.(req);
  const found = route(method, req.getUrl(), req.getQuery() ?? '');
  if (found instanceof ApiError) {
    ctx.metrics.apiRequests.labels('unknown', String(found.status)).inc();
    // The body is drained unread, as an oversized one is, so that the client reads the answer.
    readBody(res, { ...limits, maxBytes: 0 }, state).then(
      () => sendApiError(res, state, found),
      (error: unknown) => {
        const refusal = bodyRefusalOf(error);
        if (refusal === 'too_large_cut' || refusal === 'timeout') ctx.metrics.httpBodiesRefused.labels(refusal).inc();
        sendApiError(res, state, found, refusal !== 'too_large');
      },
    );
    return;
  }
  const { operation } = found;
  const finish = (status: number) => {
    ctx.metrics.apiRequests.labels(operation.name, String(status)).inc();
    ctx.metrics.apiDuration.labels(operation.name).observe((performance.now() - started) / 1000);
  };

  const body = found.hasBody ? readBody(res, limits, state) : Promise.resolve(Buffer.alloc(0));
  body
    .then(async (raw) => {
      // Before anything else looks at the request: no quota spent, no validation detail given away.
      await verify?.(raw);
      const parsed = (operation.input as z.ZodType).safeParse({ ...parseJsonBody(raw), ...found.params });
      if (!parsed.success) throw validationErrorOf(parsed.error);
      // Charged only once the input is valid: the ThrottlingException's resourceId comes from it.
      if (!(await ctx.apiQuotas.take(operation.name))) {
        ctx.metrics.rateLimited.labels('api_quota').inc();
        throw apiErrors.throttled(operation.resourceId?.(parsed.data) ?? '', API_QUOTAS[operation.name], `Rate exceeded for ${operation.name}`);
      }
      const result = await operation.handle(ctx, parsed.data);
      finish(operation.status ?? 200);
      sendJson(res, state, operation.status ?? 200, result);
    })
    .catch((error: unknown) => {
      const refusal = bodyRefusalOf(error);
      if (refusal) ctx.metrics.httpBodiesRefused.labels(refusal).inc();
      let apiError: ApiError;
      if (error instanceof ApiError) apiError = error;
      else if (error instanceof BodyTooLargeError) apiError = apiErrors.validation(`The request body exceeds ${error.limit} bytes`);
      else if (error instanceof BodyTimeoutError) {
        apiError = apiErrors.validation(`The request body did not arrive within ${error.timeoutMs / 1000} s`);
      } else if (error instanceof BusUnavailableError) {
        // Counted by the bus (chatstorm_bus_failed_total); the message says what was done.
        apiError = apiErrors.internal(error.message);
      } else {
        // A failed write is logged once per burst where it happens, not once per request.
        if (!(error instanceof StorageWriteError)) ctx.log.error({ err: error, operation: operation.name }, 'operation failed');
        apiError = apiErrors.internal();
      }
      finish(apiError.status);
      // A body cut short leaves unread bytes behind: the connection cannot carry another request.
      sendApiError(res, state, apiError, refusal === 'too_large_cut' || refusal === 'timeout');
    });
}

function bodyRefusalOf(error: unknown): HttpBodyRefusal | undefined {
  if (error instanceof BodyTooLargeError) return error.drained ? 'too_large' : 'too_large_cut';
  if (error instanceof BodyTimeoutError) return 'timeout';
  return undefined;
}

function parseJsonBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw apiErrors.validation(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw apiErrors.validation('The request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
