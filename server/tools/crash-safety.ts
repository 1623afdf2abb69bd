import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import {
  CreateChatTokenCommand,
  CreateRoomCommand,
  IvschatClient,
  ListRoomsCommand,
  TagResourceCommand,
  UpdateRoomCommand,
} from '@aws-sdk/client-ivschat';
import { seededRandom } from '../../scenarios/lib/seeded-random.ts';

// SIGKILL at random moments during a stream of CreateRoom / UpdateRoom / TagResource calls, the
// server restarted on the same data dir each time: every change acknowledged before a kill must
// be there after the restart. Used by `npm run crash-safety` and by a short run in npm test.
//
// Beside them, one writer makes chat tokens and connects with them: a handshake accepted before a
// kill must be refused as reused after the restart (the used-token log is a change too).
//
// Each writer owns its rooms and calls one at a time, so a room has at most one change in flight
// when the kill lands: after the restart each field (the name, each tag) must hold the value of
// its last acknowledged change, or of the change that was in flight (it may have been written
// before the kill and not acknowledged). Anything else is an acknowledged change lost.

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TAG_KEYS = 8;

export interface CrashSafetyOptions {
  kills: number;
  seed: number;
  /** Concurrent writers, each a sequence of calls. */
  writers?: number;
  /** Longest time from the first acknowledged change of a round to its kill. */
  maxKillDelayMs?: number;
  onRound?(round: RoundReport): void;
}

/** One kill, reported once the restarted server has been checked. */
export interface RoundReport {
  round: number;
  killAfterMs: number;
  /** Changes acknowledged in this round, before its kill. */
  acknowledged: number;
  /** Changes sent and not yet answered when the kill landed. */
  inFlight: number;
  /** Acknowledged changes of this round missing after the restart. */
  lost: number;
}

export interface CrashSafetyResult {
  seed: number;
  kills: number;
  writers: number;
  acknowledged: number;
  lost: number;
  /** Of `acknowledged`, handshakes accepted (each must be refused as reused after a restart). */
  handshakes: number;
  /** Up to 20 descriptions of lost changes, for the failure message. */
  lostExamples: string[];
  /** Changes in flight at a kill that were found written after the restart (allowed). */
  inFlightFoundWritten: number;
  rooms: number;
  seconds: number;
}

type Fields = Map<string, string>; // "name" or "tag:<key>" -> value

interface RoomModel {
  arn: string;
  /** Value of each field's last acknowledged change. */
  acknowledged: Fields;
  /** The change in flight at the kill, if any. */
  inFlight: Fields | undefined;
}


interface ServerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

// A harness stopped by a signal must not leave its server running: the CLI exits on SIGINT and
// SIGTERM, and this kills whatever server is up as the process exits.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function startServerProcess(dataDir: string): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--bench', '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not report its url within 30 s:\n${output}`)), 30_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) before listening:\n${output}`));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output = (output + line + '\n').slice(-4000);
        const match = /"url":"(http:\/\/[^"]+)"/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    return { child, url, exited };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
}

/** The HTTP status of the upgrade: 101 when it was accepted (the socket is then closed). */
function handshake(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), [token], { perMessageDeflate: false });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      socket.terminate();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', reject);
  });
}

function clientFor(url: string): IvschatClient {
  return new IvschatClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
}

async function readRooms(client: IvschatClient): Promise<Map<string, Fields>> {
  const rooms = new Map<string, Fields>();
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListRoomsCommand({ nextToken, maxResults: 50 }));
    for (const room of page.rooms!) {
      const fields: Fields = new Map([['name', room.name ?? '']]);
      for (const [key, value] of Object.entries(room.tags ?? {})) fields.set(`tag:${key}`, value);
      rooms.set(room.arn!, fields);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return rooms;
}

/** Compares what the restarted server holds with the model, then adopts it as the new baseline. */
function verify(models: Map<string, RoomModel>, actual: Map<string, Fields>, lostExamples: string[]): { lost: number; inFlightWritten: number } {
  let lost = 0;
  let inFlightWritten = 0;
  for (const model of models.values()) {
    const found = actual.get(model.arn);
    if (!found) {
      // Only acknowledged creates are in the model: a missing room is a lost create.
      lost += 1;
      if (lostExamples.length < 20) lostExamples.push(`room ${model.arn} (acknowledged CreateRoom) is missing`);
      models.delete(model.arn);
      continue;
    }
    let tookInFlight = false;
    for (const [field, value] of model.acknowledged) {
      const have = found.get(field);
      if (have === value) continue;
      if (model.inFlight?.has(field) && model.inFlight.get(field) === have) {
        tookInFlight = true;
        continue;
      }
      lost += 1;
      if (lostExamples.length < 20) lostExamples.push(`room ${model.arn}: ${field} is ${JSON.stringify(have)}, acknowledged ${JSON.stringify(value)}`);
    }
    if (tookInFlight) inFlightWritten += 1;
    model.acknowledged = new Map(found);
    model.inFlight = undefined;
  }
  return { lost, inFlightWritten };
}

export async function runCrashSafety(options: CrashSafetyOptions): Promise<CrashSafetyResult> {
  const started = performance.now();
  const writers = options.writers ?? 4;
  const maxKillDelayMs = options.maxKillDelayMs ?? 400;
  const next = seededRandom(options.seed);
  const dataDir = await mkdtemp(join(tmpdir(), 'chatstorm-crash-safety-'));
  const models = new Map<string, RoomModel>();
  const owned: RoomModel[][] = Array.from({ length: writers }, () => []);
  const lostExamples: string[] = [];
  let acknowledged = 0;
  let handshakes = 0;
  let lost = 0;
  let inFlightFoundWritten = 0;
  let changeNumber = 0;
  let server: ServerProcess | undefined;
  let killed: Omit<RoundReport, 'lost'> | undefined;
  let handshakeRoom: string | undefined;
  let acceptedTokens: string[] = [];

  try {
    for (let round = 0; round <= options.kills; round++) {
      server = await startServerProcess(dataDir);
      const client = clientFor(server.url);
      const check = verify(models, await readRooms(client), lostExamples);
      for (const token of acceptedTokens) {
        const status = await handshake(server.url, token);
        if (status === 401) continue;
        check.lost += 1;
        if (lostExamples.length < 20) lostExamples.push(`a token accepted before the kill was answered ${status}, not 401 (reused), after it`);
      }
      acceptedTokens = [];
      lost += check.lost;
      inFlightFoundWritten += check.inFlightWritten;
      if (killed) options.onRound?.({ ...killed, lost: check.lost });
      for (let w = 0; w < writers; w++) owned[w] = owned[w]!.filter((model) => models.has(model.arn));
      if (round === options.kills) {
        client.destroy();
        break;
      }

      // Choices come from the seeded generator in call order; the kill delay is drawn first.
      const killAfterMs = Math.round(next() * maxKillDelayMs);
      let roundAcknowledged = 0;
      let outstanding = 0;
      let stopped = false;
      let firstAck!: () => void;
      const firstAcknowledged = new Promise<void>((resolve) => (firstAck = resolve));
      const writer = async (w: number) => {
        const mine = owned[w]!;
        while (!stopped) {
          const n = ++changeNumber;
          const choice = next();
          const target = mine.length === 0 || choice < 0.25 ? undefined : mine[Math.floor(next() * mine.length)]!;
          let change: Fields;
          let call: Promise<unknown>;
          if (!target) {
            change = new Map([['name', `w${w}-c${n}`]]);
            call = client.send(new CreateRoomCommand({ name: `w${w}-c${n}` }));
          } else if (choice < 0.6) {
            change = new Map([['name', `w${w}-u${n}`]]);
            call = client.send(new UpdateRoomCommand({ identifier: target.arn, name: `w${w}-u${n}` }));
          } else {
            const key = `k${Math.floor(next() * TAG_KEYS)}`;
            change = new Map([[`tag:${key}`, `v${n}`]]);
            call = client.send(new TagResourceCommand({ resourceArn: target.arn, tags: { [key]: `v${n}` } }));
          }
          if (target) target.inFlight = change;
          let answer: unknown;
          outstanding++;
          try {
            answer = await call;
          } catch (error) {
            if (stopped) return;
            throw error;
          }
          outstanding--;
          if (target) {
            target.inFlight = undefined;
            for (const [field, value] of change) target.acknowledged.set(field, value);
          } else {
            const arn = (answer as { arn: string }).arn;
            const model: RoomModel = { arn, acknowledged: change, inFlight: undefined };
            models.set(arn, model);
            mine.push(model);
          }
          acknowledged++;
          roundAcknowledged++;
          firstAck();
        }
      };
      if (!handshakeRoom) {
        handshakeRoom = (await client.send(new CreateRoomCommand({ name: 'handshakes' }))).arn!;
        models.set(handshakeRoom, { arn: handshakeRoom, acknowledged: new Map([['name', 'handshakes']]), inFlight: undefined });
        acknowledged++;
      }
      const url = server.url;
      const tokenWriter = async (room: string) => {
        while (!stopped) {
          const n = ++changeNumber;
          let status: number;
          outstanding++;
          try {
            const { token } = await client.send(new CreateChatTokenCommand({ roomIdentifier: room, userId: `t${n}` }));
            status = await handshake(url, token!);
            if (status === 101) {
              acceptedTokens.push(token!);
              handshakes++;
            }
          } catch (error) {
            if (stopped) return;
            throw error;
          }
          outstanding--;
          if (status !== 101) {
            if (stopped) return;
            throw new Error(`a fresh token's handshake was answered ${status}`);
          }
          acknowledged++;
          roundAcknowledged++;
          firstAck();
        }
      };
      const running = Promise.all([...Array.from({ length: writers }, (_, w) => writer(w)), tokenWriter(handshakeRoom)]);
      // The kill must land while writes are under way, not before the first one.
      await Promise.race([firstAcknowledged, running]);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      stopped = true;
      server.child.kill('SIGKILL');
      await server.exited;
      await running;
      client.destroy();
      killed = { round: round + 1, killAfterMs, acknowledged: roundAcknowledged, inFlight: outstanding };
    }
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  }

  return {
    seed: options.seed,
    kills: options.kills,
    writers,
    acknowledged,
    handshakes,
    lost,
    lostExamples,
    inFlightFoundWritten,
    rooms: models.size,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
