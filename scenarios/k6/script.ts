import { sleep } from 'k6';
import exec from 'k6/execution';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import { parseDurationMs } from '../lib/duration.ts';
import { LagProbe } from '../lib/lag-probe.ts';
import { resolveProfile, setField, type ProfileInput } from '../lib/profile.ts';
import type { RoomRef } from '../lib/ports.ts';
import { formatSummary } from '../lib/results.ts';
import { ReplayPlan } from '../lib/replay/replay-plan.ts';
import { Plan } from '../lib/schedule.ts';
import { Swarm } from '../lib/swarm.ts';
import { K6ControlPlane } from './k6-control-plane.ts';
import { K6DeliveryLog, K6Metrics } from './k6-metrics.ts';
import { K6Transport } from './k6-transport.ts';
import { loadK6Replay } from './k6-replay.ts';
import { DEFAULT_LAG_BOUND, DEFAULT_VIEWERS_PER_VU, k6Options, k6Thresholds, vusFor } from './options.ts';
import { buildK6Result, type K6SummaryData } from './summary.ts';

// Everything an entry script exports, built from one profile. Environment:
//   CHATSTORM_URL     target (default http://127.0.0.1:8080)
//   CHATSTORM_WS_URL  the chat WebSocket when it is not the ws:// of CHATSTORM_URL (e.g. a proxy
//                     in front of the same server); the control plane stays on CHATSTORM_URL
//   CHATSTORM_SET     profile overrides, "viewers=5000;duration=2m;churn.leavePerSecond=0.05"
//   VIEWERS_PER_VU    how many viewers one VU holds (default DEFAULT_VIEWERS_PER_VU)
//   CHATSTORM_REPLAY  a recorded chat log to replay (see k6-replay.ts), e.g. with
//                     CHATSTORM_SET="replay.speed=10;replay.viewersPerRoom=500"
//   CHATSTORM_RUN_ID  names the run's rooms; required when k6 runs one execution segment of many
//                     (k6-operator parallelism > 1): the instance whose segment starts at 0 creates
//                     the rooms, the others find them by name
//   CHATSTORM_OUT     results file (default <scenario>-k6-<time>.json in the working directory:
//                     k6 does not create missing directories for handleSummary's files)
//   CHATSTORM_LAG_BOUND  a VU whose event-loop lag p99 exceeds this makes the run generator-bound
//                     (default 100ms): the result says so and k6 exits 108 instead of 0 or 99

const LAG_PROBE_MS = 100;
const CLOSE_TIMEOUT_MS = 10_000;

/** How long an instance waits for the one that creates the rooms. */
const ROOMS_WAIT_MS = 120_000;

interface SetupData {
  rooms: RoomRef[];
  startAt: number;
}

export function createScript(input: ProfileInput) {
  const overrides: Record<string, unknown> = {};
  for (const pair of (__ENV.CHATSTORM_SET ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) setField(overrides, pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  // A replay reads its log here, in the init context (k6's open() works nowhere else); every VU
  // derives the same script from it and plays its own slice of the senders.
  const replay = loadK6Replay(resolveProfile(input, overrides));
  const profile = replay ? replay.profile : resolveProfile(input, overrides);
  const plan = replay ? new ReplayPlan(profile, replay.script) : new Plan(profile);
  const base = (__ENV.CHATSTORM_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const wsUrl = __ENV.CHATSTORM_WS_URL || `${base.replace(/^http/, 'ws')}/`;
  const viewersPerVu = Number(__ENV.VIEWERS_PER_VU ?? DEFAULT_VIEWERS_PER_VU);
  const lagBoundMs = parseDurationMs(__ENV.CHATSTORM_LAG_BOUND ?? DEFAULT_LAG_BOUND);
  const vus = vusFor(profile, viewersPerVu);
  const control = new K6ControlPlane(base);
  const metrics = new K6Metrics();
  const summaryOnly = k6Thresholds(profile.thresholds).summaryOnly;

  const options = k6Options(profile, viewersPerVu);

  function setup(): SetupData {
    if (summaryOnly.length) console.warn(`judged in the summary only (no k6 threshold can express them): ${summaryOnly.join(', ')}`);
    // Under --execution-segment each instance runs setup; VUs already agree across instances
    // (exec.vu.idInTest is striped over the segments, so every viewer has one owner), the rooms
    // must too: one instance creates them, by names the others can find.
    const segment = exec.test.options.executionSegment ? String(exec.test.options.executionSegment) : '';
    if (segment && !__ENV.CHATSTORM_RUN_ID) {
      throw new Error(`execution segment ${segment}: set CHATSTORM_RUN_ID, the same on every instance, so that they share the run's rooms`);
    }
    const runId = __ENV.CHATSTORM_RUN_ID ?? Date.now().toString(36);
    const names = Array.from({ length: profile.rooms }, (_, r) => `chatstorm-${profile.name}-${runId}-${r}`);
    const rooms: RoomRef[] = segment === '' || segment.startsWith('0:') ? names.map((name) => control.createRoomSync(name, plan.roomRateLimit(1_000_000))) : findRooms(names);
    // k6 initializes every VU before setup and starts their one iteration right after it;
    // t = 0 leaves them a moment to get there.
    return { rooms, startAt: Date.now() + 1000 };
  }

  function findRooms(names: string[]): RoomRef[] {
    const deadline = Date.now() + ROOMS_WAIT_MS;
    const rooms: RoomRef[] = [];
    while (rooms.length < names.length) {
      const room = control.findRoomSync(names[rooms.length]!);
      if (room) {
        rooms.push(room);
        continue;
      }
      if (Date.now() > deadline) throw new Error(`room ${names[rooms.length]} did not appear within ${ROOMS_WAIT_MS / 1000} s: is the instance with segment 0:… running?`);
      sleep(0.5);
    }
    return rooms;
  }

  async function run(data: SetupData): Promise<void> {
    const vu = exec.vu.idInTest;
    const clock = { now: () => Date.now() };
    metrics.zero(profile.rooms);
    const probe = new LagProbe({
      clock,
      timer: { after: (ms, fn) => setTimeout(fn, ms), cancel: (h) => clearTimeout(h as number) },
      sink: metrics,
      periodMs: LAG_PROBE_MS,
      boundMs: lagBoundMs,
      fromMs: data.startAt,
      toMs: data.startAt + plan.endMs,
    });
    const transport = new K6Transport(probe);
    const swarm = new Swarm({
      plan,
      slice: { index: vu - 1, count: vus },
      rooms: data.rooms,
      wsUrl,
      startAt: data.startAt,
      clock,
      ticker: { every: (ms, fn) => setInterval(fn, ms), cancel: (h) => clearInterval(h as number) },
      transport,
      control,
      metrics,
      log: new K6DeliveryLog(),
      ...(replay ? { replay: replay.script } : {}),
      tickMs: replay ? 10 : 50,
      maxConnecting: 100,
      closeTimeoutMs: CLOSE_TIMEOUT_MS,
    });
    let peak = 0;
    const flushBytes = () => {
      const bytes = transport.takeBytes();
      metrics.bytes(bytes.received, bytes.sent);
    };
    const gauges = setInterval(() => {
      metrics.zero(profile.rooms);
      flushBytes();
      peak = Math.max(peak, swarm.connected);
      metrics.viewers(vu, swarm.connected, plan.targetAt(Date.now() - data.startAt));
    }, 1000);
    probe.start();
    swarm.start();
    await swarm.finished;
    probe.stop();
    clearInterval(gauges);
    flushBytes();
    metrics.viewers(vu, 0, 0);
    metrics.peak(peak);
    if (probe.bound) await generatorBound(vu, probe, data.startAt + plan.endMs + CLOSE_TIMEOUT_MS + 2000);
  }

  /**
   * k6 cannot set an exit code from a script except by aborting (108), so that is the generator-
   * bound verdict, distinct from failed thresholds (99). The abort waits for the other VUs to
   * finish (or for the latest moment they can), so their results are complete.
   */
  async function generatorBound(vu: number, probe: LagProbe, latestEnd: number): Promise<void> {
    metrics.generatorBound();
    while (exec.instance.vusActive > 1 && Date.now() < latestEnd) await new Promise<void>((resolve) => setTimeout(resolve, 200));
    exec.test.abort(
      `generator-bound: VU ${vu}'s event loop lagged more than ${lagBoundMs} ms in ${probe.overBound} of ${probe.samples} probes ` +
        `(max ${probe.maxMs} ms); the figures describe k6, not the server (give it fewer viewers per VU or more cores)`,
    );
  }

  function teardown(data: SetupData): void {
    // Instances end at different moments: one deleting the shared rooms would cut the others short.
    if (exec.test.options.executionSegment) return;
    for (const room of data.rooms) {
      try {
        control.callSync('DeleteRoom', { identifier: room.arn });
      } catch {
        // best effort: the run's result does not depend on it
      }
    }
  }

  function handleSummary(data: K6SummaryData): Record<string, string> {
    const result = buildK6Result(data, profile, { url: base, vus, startedAt: Date.now() - data.state.testRunDurationMs, lagBoundMs });
    const file = __ENV.CHATSTORM_OUT ?? `${profile.name}-k6-${result.startedAt.replace(/[:.]/g, '-')}.json`;
    return { stdout: `${formatSummary(result)}\n  results       ${file}\n`, [file]: `${JSON.stringify(result, null, 2)}\n` };
  }

  return { options, setup, run, teardown, handleSummary };
}
