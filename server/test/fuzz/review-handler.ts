import { createServer, type Server } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { WsExpect } from './ws-model.ts';

// A message review handler for the fuzzer's review rooms. Its verdict is a pure function of the
// Content, so the model can tell what the sender must get back; it also checks that what the
// server asked it matches what the client sent.

type Plan = 'allow' | 'rewrite-content' | 'rewrite-attributes' | 'deny' | 'status-500' | 'not-json' | 'empty-content' | 'too-long';
const PLANS: Plan[] = ['allow', 'rewrite-content', 'rewrite-attributes', 'deny', 'status-500', 'not-json', 'empty-content', 'too-long'];

export function planFor(content: string): Plan {
  let sum = 0;
  for (let i = 0; i < content.length; i++) sum = (sum + content.charCodeAt(i)) % 1009;
  return PLANS[sum % PLANS.length]!;
}

export interface ReviewRequest {
  Content: string;
  MessageId: string;
  RoomArn: string;
  Attributes: Record<string, string>;
  Sender: { UserId: string; Attributes: Record<string, string>; Ip: string };
}

export class FuzzReviewHandler {
  /** Requests the server made, by MessageId, to compare with the MESSAGE that follows. */
  readonly asked = new Map<string, ReviewRequest>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FuzzReviewHandler> {
    let handler: FuzzReviewHandler | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request = JSON.parse(Buffer.concat(chunks).toString()) as ReviewRequest;
        handler!.asked.set(request.MessageId, request);
        const content = request.Content;
        const answer = (status: number, body: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(body);
        switch (planFor(content)) {
          case 'allow':
            return answer(200, '{"ReviewResult":"ALLOW"}');
          case 'rewrite-content':
            return answer(200, JSON.stringify({ ReviewResult: 'ALLOW', Content: rewritten(content) }));
          case 'rewrite-attributes':
            // The sender's attributes (keys such as __proto__ included) plus one: a handler that edits, not replaces.
            return answer(200, JSON.stringify({ ReviewResult: 'ALLOW', Attributes: withReviewed(request.Attributes) }));
          case 'deny':
            return answer(200, '{"ReviewResult":"DENY"}');
          case 'status-500':
            return answer(500, '{"ReviewResult":"ALLOW"}');
          case 'not-json':
            return answer(200, '{"ReviewResult":');
          case 'empty-content':
            return answer(200, '{"ReviewResult":"ALLOW","Content":""}');
          case 'too-long':
            return answer(200, JSON.stringify({ ReviewResult: 'ALLOW', Content: 'x'.repeat(501) }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    handler = new FuzzReviewHandler(server, `http://127.0.0.1:${port}/review`);
    return handler;
  }

  /** Why the review request for this MESSAGE does not match what the client sent, if it does not. */
  checkAsked(messageId: string, sent: { content: string; attributes: Record<string, string> | undefined; userId: string; roomArn: string }): string | undefined {
    const request = this.asked.get(messageId);
    this.asked.delete(messageId);
    if (!request) return `the review handler was never asked about message ${messageId}`;
    if (request.Content !== sent.content) return 'the review handler was asked about other Content';
    if (!isDeepStrictEqual(request.Attributes, sent.attributes ?? {})) return 'the review handler was asked with other Attributes';
    if (request.Sender.UserId !== sent.userId || request.RoomArn !== sent.roomArn) return 'the review handler was asked with another Sender or RoomArn';
    return undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A copy with one more key; own keys such as __proto__ stay data, as JSON.parse made them. */
function withReviewed(attributes: Record<string, string>): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, 'reviewed', { value: 'yes', enumerable: true, writable: true, configurable: true });
  return copy;
}

/** A rewrite that stays within 500 code points only when the original leaves room for it. */
const rewritten = (content: string) => `${content} [reviewed]`;

/** What a sender must get back in a review room, given what it would get without review. */
export function reviewed(expect: WsExpect, fallback: 'ALLOW' | 'DENY', maximumMessageLength: number): WsExpect {
  if (expect.kind !== 'message') return expect;
  const sent = { content: expect.content, attributes: expect.attributes };
  const denied: WsExpect = { kind: 'error', codes: [406], requestId: expect.requestId, why: 'the review handler denied it' };
  const fallen = fallback === 'ALLOW' ? { ...expect, sent } : denied;
  switch (planFor(expect.content)) {
    case 'allow':
      return { ...expect, sent };
    case 'rewrite-content': {
      const content = rewritten(expect.content);
      return [...content].length <= maximumMessageLength ? { ...expect, content, sent } : fallen;
    }
    case 'rewrite-attributes': {
      const attributes = withReviewed(expect.attributes ?? {});
      const bytes = Object.entries(attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
      // Over 1 KB the answer does not fit the shape: the room's fallback decides.
      return bytes <= 1024 ? { ...expect, attributes, sent } : fallen;
    }
    case 'deny':
      return denied;
    default:
      return fallen;
  }
}
