// The MESSAGE frame both comparison targets publish, byte for byte in chatstorm's layout
// (server/src/messaging/frames.ts), so that all three servers send the same bytes. Scenarios code
// never imports the server: the layout is restated here, and the comparison checks the frame
// sizes it observes are equal across targets.

const q = JSON.stringify;
let seq = 0;

/** 12 characters like chatstorm's ids; a counter is enough, uniqueness is all a receiver needs. */
function nextId(): string {
  seq++;
  return `B${String(seq).padStart(11, '0')}`;
}

export interface SendMessageRequest {
  Action?: string;
  RequestId?: string;
  Content?: string;
  Attributes?: Record<string, string>;
}

export function messageFrame(request: SendMessageRequest, sender: string): string {
  return (
    `{"Type":"MESSAGE","Id":"${nextId()}"` +
    (request.RequestId === undefined ? '' : `,"RequestId":${q(request.RequestId)}`) +
    (request.Attributes === undefined ? '' : `,"Attributes":${q(request.Attributes)}`) +
    `,"Content":${q(request.Content ?? '')},"SendTime":"${new Date().toISOString()}","Sender":${sender}}`
  );
}

/**
 * Tokens of the bare targets: `<roomId>.<userId>`, handed out by their CreateChatToken. No
 * crypto, no single-use check: what the bare servers measure is the engine, not authentication.
 */
export function readToken(token: string): { roomId: string; userId: string } {
  const dot = token.indexOf('.');
  return { roomId: token.slice(0, dot), userId: token.slice(dot + 1) };
}

/** Control-plane stand-ins shared by both bare targets: CreateRoom and CreateChatToken, enough for the load side. */
export function controlPlane(operation: string, body: Record<string, unknown>): { status: number; body: unknown } {
  if (operation === 'CreateRoom') {
    const id = `Room${String(++rooms).padStart(8, '0')}`;
    return { status: 200, body: { arn: `arn:aws:ivschat:us-east-1:123456789012:room/${id}`, id } };
  }
  if (operation === 'CreateChatToken') {
    const arn = String(body.roomIdentifier ?? '');
    const roomId = arn.slice(arn.lastIndexOf('/') + 1);
    return { status: 200, body: { token: `${roomId}.${String(body.userId ?? '')}` } };
  }
  if (operation === 'DeleteRoom') return { status: 204, body: undefined };
  return { status: 404, body: { message: `unknown operation ${operation}` } };
}
let rooms = 0;
