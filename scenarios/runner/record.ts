import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { z } from 'zod';
import { ControlPlaneError } from '../lib/ports.ts';
import { createControlPlane, type ControlPlaneConfig } from './control-plane.ts';

// `npm run record`: joins a room of any IVS-Chat-compatible service as a read-only viewer (a token
// without capabilities) and writes what it sees in the IVS Chat logging record shape, one JSON
// object per line in <out>/<room id>.jsonl — the input `npm run bench -- --replay` reads. The
// session is renewed with a fresh token whenever the server ends it, until the time is up.

const USAGE = `Usage: npm run record -- --url URL --room ARN --minutes M [--out DIR] [--aws-region R] [--user-id ID]

  --url URL           the service (http://host:port); with --aws-region, real Amazon IVS Chat's endpoint
  --room ARN          the room to record
  --minutes M         how long to record (fractions allowed: 0.5 = 30 s)
  --out DIR           where <room id>.jsonl goes (default recordings/)
  --aws-region R      real Amazon IVS Chat (SigV4, credentials from the AWS environment)
  --user-id ID        the recorder's userId in the room (default chatstorm-recorder)`;

const say = (line: string) => process.stderr.write(`${line}\n`);

const Args = z.object({
  url: z.url({ protocol: /^(https?|wss?)$/ }).optional(),
  room: z.string().regex(/^arn:[^:]+:ivschat:[^:]*:[^:]*:room\/[A-Za-z0-9]+$/, 'a room ARN (arn:aws:ivschat:<region>:<account>:room/<id>)'),
  minutes: z.coerce.number().positive().max(24 * 60),
  out: z.string().min(1).default('recordings'),
  'aws-region': z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1').optional(),
  'user-id': z.string().min(1).max(128).default('chatstorm-recorder'),
});

function parse(argv: string[]): z.infer<typeof Args> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string' },
      room: { type: 'string' },
      minutes: { type: 'string' },
      out: { type: 'string' },
      'aws-region': { type: 'string' },
      'user-id': { type: 'string' },
    },
  });
  const parsed = Args.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`--${issue.path.join('.')}: ${issue.message}`);
  }
  if (!parsed.data.url && !parsed.data['aws-region']) throw new Error('--url URL (or --aws-region R) is required');
  return parsed.data;
}

async function main(): Promise<number> {
  let args: z.infer<typeof Args>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    say(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const region = args['aws-region'];
  const base = args.url?.replace(/^ws/, 'http').replace(/\/+$/, '');
  const control: ControlPlaneConfig = region ? { kind: 'aws', region, ...(base ? { endpoint: base } : {}) } : { kind: 'http', url: base! };
  const wsUrl = base ? `${base.replace(/^http/, 'ws')}/` : `wss://edge.ivschat.${region}.amazonaws.com`;
  const plane = createControlPlane(control);
  const roomId = args.room.slice(args.room.lastIndexOf('/') + 1);
  mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, `${roomId}.jsonl`);
  const out = createWriteStream(file, { flags: 'a' });
  const endAt = Date.now() + args.minutes * 60_000;
  const counts = { MESSAGE: 0, EVENT: 0, sessions: 0 };
  let socket: WebSocket | undefined;
  let stopping = false;

  const stop = () => {
    stopping = true;
    socket?.close(1000);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = setTimeout(stop, Math.max(0, endAt - Date.now()));
  const progress = setInterval(
    () => say(`recording ${roomId}: ${counts.MESSAGE} messages, ${counts.EVENT} events, ${Math.max(0, Math.round((endAt - Date.now()) / 1000))} s left`),
    5000,
  );

  // One session after another until the time is up: a session can expire or be ended by the server.
  let failures = 0;
  while (!stopping && Date.now() < endAt) {
    let token: string;
    try {
      token = await plane.createChatToken({ roomArn: args.room, userId: args['user-id'], capabilities: [], sessionDurationInMinutes: 180 });
    } catch (error) {
      if (error instanceof ControlPlaneError && error.status >= 400 && error.status < 500) {
        say(`record: the service refused a token for ${args.room}: ${error.message}`);
        break;
      }
      if (++failures > 5) {
        say(`record: giving up after ${failures} failed token requests: ${(error as Error).message}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 * failures));
      continue;
    }
    counts.sessions++;
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(wsUrl, token);
      socket = ws;
      ws.on('open', () => {
        failures = 0;
        say(`recording ${args.room} to ${file} (session ${counts.sessions})`);
        if (stopping) ws.close(1000);
      });
      ws.on('message', (data) => {
        const text = data.toString();
        let frame: { Type?: unknown };
        try {
          frame = JSON.parse(text) as { Type?: unknown };
        } catch {
          return;
        }
        if (frame.Type !== 'MESSAGE' && frame.Type !== 'EVENT') return;
        counts[frame.Type]++;
        // The record's shape as IVS logging writes it; the payload is the frame exactly as received.
        out.write(`{"event_timestamp":"${new Date().toISOString()}","type":"${frame.Type}","version":"1.0","payload":${text}}\n`);
      });
      ws.on('error', (error) => {
        failures++;
        say(`record: connection error: ${error.message}`);
      });
      ws.on('close', () => resolve());
    });
    socket = undefined;
    if (failures > 5) {
      say('record: giving up after repeated connection errors');
      break;
    }
  }
  clearTimeout(timer);
  clearInterval(progress);
  await new Promise<void>((resolve) => out.end(resolve));
  process.stdout.write(
    `recorded ${roomId}: ${counts.MESSAGE} messages, ${counts.EVENT} events in ${counts.sessions} session(s)\n  file          ${file}\n`,
  );
  return counts.sessions > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`record failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
