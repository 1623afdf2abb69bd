import { z } from 'zod';
import { attributesSchema } from '../attributes-schema.ts';
import { codePointLength } from '../messaging/decode-request.ts';
import type { Metrics, ReviewOutcome } from '../metrics.ts';
import type { FallbackResult } from '../rooms/room.ts';

// The message review handler. In the real service it is a Lambda function; here it is an HTTP(S)
// endpoint that receives the same JSON event by POST and answers with the same JSON result.
// A Lambda ARN is accepted by CreateRoom/UpdateRoom (so real configurations load) but cannot be
// invoked locally: such a room always gets its fallbackResult.

export interface ReviewRequest {
  Content: string;
  MessageId: string;
  RoomArn: string;
  Attributes: Record<string, string>;
  Sender: { UserId: string; Attributes: Record<string, string>; Ip: string };
}

export type ReviewVerdict =
  | { allowed: true; content: string; attributes: Record<string, string> | undefined; outcome: ReviewOutcome }
  | { allowed: false; outcome: ReviewOutcome };

const ReviewResponse = z.object({
  ReviewResult: z.enum(['ALLOW', 'DENY']),
  Content: z.string().min(1).optional(),
  Attributes: attributesSchema.optional(),
});

export function isHttpReviewHandler(uri: string): boolean {
  return uri.startsWith('http://') || uri.startsWith('https://');
}

export class MessageReviewer {
  constructor(
    private readonly timeoutMs: number,
    private readonly metrics: Metrics,
  ) {}

  async review(
    handler: { uri: string; fallbackResult: FallbackResult },
    request: ReviewRequest,
    maximumMessageLength: number,
  ): Promise<ReviewVerdict> {
    const started = performance.now();
    const verdict = await this.ask(handler, request, maximumMessageLength);
    this.metrics.reviewDuration.observe((performance.now() - started) / 1000);
    this.metrics.reviews.labels(verdict.outcome).inc();
    return verdict;
  }

  private async ask(
    handler: { uri: string; fallbackResult: FallbackResult },
    request: ReviewRequest,
    maximumMessageLength: number,
  ): Promise<ReviewVerdict> {
    const fallback = (): ReviewVerdict =>
      handler.fallbackResult === 'ALLOW'
        ? { allowed: true, content: request.Content, attributes: undefined, outcome: 'fallback_allow' }
        : { allowed: false, outcome: 'fallback_deny' };
    if (!isHttpReviewHandler(handler.uri)) return fallback();
    try {
      const response = await fetch(handler.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) return fallback();
      const parsed = ReviewResponse.safeParse(await response.json());
      if (!parsed.success) return fallback();
      const answer = parsed.data;
      if (answer.ReviewResult === 'DENY') return { allowed: false, outcome: 'deny' };
      const content = answer.Content ?? request.Content;
      if (codePointLength(content) > maximumMessageLength) return fallback();
      return { allowed: true, content, attributes: answer.Attributes, outcome: 'allow' };
    } catch {
      // Timeout, refused connection, unreadable body: the room's fallbackResult decides.
      return fallback();
    }
  }
}
