import type { z } from 'zod';
import type { Context } from '../context.ts';

export type OperationName =
  | 'CreateRoom'
  | 'GetRoom'
  | 'UpdateRoom'
  | 'DeleteRoom'
  | 'ListRooms'
  | 'CreateChatToken'
  | 'SendEvent'
  | 'DeleteMessage'
  | 'DisconnectUser'
  | 'CreateLoggingConfiguration'
  | 'GetLoggingConfiguration'
  | 'UpdateLoggingConfiguration'
  | 'DeleteLoggingConfiguration'
  | 'ListLoggingConfigurations'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource';

/** One control-plane operation: its input schema and what it does. Errors are thrown as ApiError values. */
export interface Operation<Input extends z.ZodType = z.ZodType> {
  name: OperationName;
  input: Input;
  /** 204 for the two Delete operations that answer with an empty body. */
  status?: 200 | 204;
  /**
   * The resource a ThrottlingException names, read from the validated input (never from the raw
   * body, which may hold anything). Operations on no single resource leave it out.
   */
  resourceId?(input: z.infer<Input>): string;
  handle(ctx: Context, input: z.infer<Input>): Promise<unknown>;
}

export function defineOperation<Input extends z.ZodType>(operation: Operation<Input>): Operation<Input> {
  return operation;
}
