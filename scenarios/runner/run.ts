import { formatDuration, parseDurationMs } from '../lib/duration.ts';
import type { Profile } from '../lib/profile.ts';
import type { RoomRef } from '../lib/ports.ts';
import type { RunResult, TimelinePoint } from '../lib/results.ts';
import { ReplayFidelity } from '../lib/replay/replay-fidelity.ts';
import { ReplayPlan } from '../lib/replay/replay-plan.ts';
import { Plan } from '../lib/schedule.ts';
import { percentilesOf, RunAggregate } from './aggregate.ts';
import { StepWatch, stepLimits } from './capacity.ts';
import { now } from './clock.ts';
import { auditBucket, auditChatLog, type AuditTarget } from './audit.ts';
import { createControlPlane } from './control-plane.ts';
import { GeneratorLoad } from './generator-load.ts';
import { backlogSummary } from './generator-bound.ts';
import { BacklogClock, ReceiveBacklog } from './receive-backlog.ts';
import { LoadMetrics } from './prometheus.ts';
import { Progress } from './progress.ts';
import { buildResult } from './report.ts';
import { scrapeServer, ServerWatch, serverUsage } from './server-scrape.ts';
import { samplePeriodMs } from '../lib/soak-verdict.ts';
import { addServerSeries } from './soak-run.ts';
import { startCheckpoints } from './soak-checkpoint.ts';
import { startTsWorker } from './ts-worker.ts';
import type { LoadedReplay } from './replay/load-replay.ts';
import type { Target } from './target.ts';
import type { MainToWorker, WorkerInit, WorkerToMain } from './worker-messages.ts';

// One run: rooms are created, worker threads hold the audience, the main thread folds their
// reports into live progress, Prometheus metrics and, at the end, the result.

export type { Target } from './target.ts';

export interface RunOptions {
  profile: Profile;
  target: Target;
  workers: number;
  /** ws (default) or the bare-socket client for ws:// targets (raw-transport.ts). */
  transport?: 'ws' | 'raw';
  /** Counting receive mode (raw transport): decode only every Nth MESSAGE frame of plain viewers. */
  decodeEvery?: number;
  metricsPort?: number;
  progress: boolean;
  reportMs?: number;
  /** Ends the run early (Ctrl-C): viewers leave, the result covers what ran. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** --audit: the rooms log to a destination of their own, checked against the run once it is complete. */
  audit?: AuditTarget;
  /** A recorded log to replay (the profile is then `replay.profile`). */
  replay?: LoadedReplay;
  /**
   * --shard: this runner holds viewers i ≡ index (mod count) of the profile, in rooms that shard 0
   * creates and the others find by name (both derived from runId).
   */
  shard?: { index: number; count: number; runId: string };
  /** Names the rooms (default: the start time); shards get theirs from `shard`. */
  runId?: string;
  /** Soak profiles: where the partial result is written every soak.checkpointEvery (the results file itself). */
  checkpointFile?: string;
  /** Called with each timeline point as it is taken (npm run capacity watches a step settle). */
  onInterval?: (point: TimelinePoint) => void;
}

/** How long a shard waits for shard 0 to have created the run's rooms. */
const ROOMS_WAIT_MS = 120_000;

/** How long a worker thread may take to load before the run fails without it. */
const WORKER_LOAD_MS = 60_000;

function roomName(plan: Plan, runId: string, r: number): string {
  return `chatstorm-${plan.profile.name}-${runId}-${r}`;
}

/** The rooms shard 0 created, found by their names; polled, since shards start in any order. */
async function findRooms(target: Target, plan: Plan, runId: string, shards: number, log: (line: string) => void): Promise<RoomRef[]> {
  const control = createControlPlane(target.control);
  const deadline = now() + ROOMS_WAIT_MS;
  const rooms: RoomRef[] = [];
  log(`waiting for shard 1 to create the ${plan.profile.rooms} room(s) of run ${runId}`);
  while (rooms.length < plan.profile.rooms) {
    const room = await control.findRoom(roomName(plan, runId, rooms.length));
    if (room) {
      rooms.push(room);
      continue;
    }
    if (now() > deadline) {
      throw new Error(`room ${roomName(plan, runId, rooms.length)} did not appear within ${ROOMS_WAIT_MS / 1000} s: is shard 1/${shards} of run ${runId} running against the same server?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return rooms;
}

async function createRooms(target: Target, plan: Plan, runId: string, loggingArns?: string[]): Promise<RoomRef[]> {
  const control = createControlPlane(target.control);
  const rate = plan.roomRateLimit(target.roomRateCap);
  const rooms: RoomRef[] = [];
  // Real IVS allows 5 room operations a second; chatstorm --bench does not care.
  const batch = target.kind === 'aws' ? 4 : 50;
  for (let r = 0; r < plan.profile.rooms; r += batch) {
    const names = Array.from({ length: Math.min(batch, plan.profile.rooms - r) }, (_, k) => roomName(plan, runId, r + k));
    rooms.push(...(await Promise.all(names.map((name) => control.createRoom(name, rate, loggingArns)))));
    if (target.kind === 'aws' && r + batch < plan.profile.rooms) await new Promise((resolve) => setTimeout(resolve, 1100));
  }
  return rooms;
}

function liveLine(t: number, plan: Plan, a: RunAggregate, seconds: number, cpu: number, cores: number, backlogMs: number | null | undefined): string {
  const i = a.interval;
  const p99 = percentilesOf(a.intervalLatency).p99;
  const phase = plan.stepAt(t) >= 0 && t < plan.durationMs ? `step ${plan.stepAt(t) + 1}/${plan.profile.steps}` : plan.phaseAt(t);
  const errors = Object.values(a.totals.errors).reduce((x, y) => x + y, 0);
  return (
    `[${formatDuration(Math.max(0, t)).padStart(6)} / ${formatDuration(plan.endMs)}] ${phase.padEnd(9)} ` +
    `viewers ${a.connected.toLocaleString('en-US')}/${plan.targetAt(t).toLocaleString('en-US')}  ` +
    `sent ${Math.round(i.sent / seconds).toLocaleString('en-US')}/s  ` +
    `delivered ${Math.round(i.frames / seconds).toLocaleString('en-US')}/s  p99 ${p99.toFixed(1)} ms  ` +
    `missing ${a.ledger.totals.missing}  dup ${a.totals.duplicated}  errors ${errors}  ` +
    `gen CPU ${Math.round(cpu * 100)}%/${cores}` +
    (backlogMs === undefined ? '' : `  gen behind ${backlogMs === null ? 'n/a' : `${backlogMs.toFixed(1)} ms`}`)
  );
}

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const plan = o.replay ? new ReplayPlan(o.profile, o.replay.script) : new Plan(o.profile);
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const reportMs = o.reportMs ?? 1000;
  const metrics = new LoadMetrics(o.profile.name);
  if (o.metricsPort !== undefined) log(`runner metrics at ${await metrics.listen(o.metricsPort)}`);
  const load = new GeneratorLoad();
  const progress = new Progress(o.progress);
  const receive = await ReceiveBacklog.open(o.target.wsUrls ?? [o.target.wsUrl]);
  const backlogClock = new BacklogClock();
  let readSince = { bytes: 0, seconds: 0 };
  let lastBacklogMs: number | null = null;

  try {
    const runId = o.shard?.runId ?? o.runId ?? Math.round(now()).toString(36);
    const bucket = auditBucket(runId);
    const logging = o.audit ? await createControlPlane(o.target.control).createLoggingConfiguration(bucket, bucket) : undefined;
    const rooms =
      o.shard && o.shard.index > 0
        ? await findRooms(o.target, plan, runId, o.shard.count, log)
        : await createRooms(o.target, plan, runId, logging ? [logging.arn] : undefined);
    const serverBefore = o.target.metricsUrl ? await scrapeServer(o.target.metricsUrl) : undefined;
    const serverWatch = o.target.metricsUrl ? new ServerWatch(o.target.metricsUrl, samplePeriodMs(o.profile)) : undefined;

    const shard = o.shard ?? { index: 0, count: 1 };
    const shardViewers = Math.ceil(Math.max(0, o.profile.viewers - shard.index) / shard.count);
    const workerCount = Math.max(1, Math.min(o.workers, shardViewers));
    // Set once every worker has loaded (see below); reports only come after that.
    let aggregate!: RunAggregate;
    let fidelity: ReplayFidelity | undefined;
    const timeline: TimelinePoint[] = [];
    let peakViewers = 0;
    let finals = 0;
    const failures: string[] = [];

    const workers = Array.from({ length: workerCount }, (_, index) => {
      const init: WorkerInit = {
        profile: o.profile,
        // Slices are arithmetic progressions of viewer numbers: worker w of shard k of n holds
        // k + n·w, k + n·w + n·W, …, so the shards' slices partition the audience whatever each
        // shard's own worker count W.
        slice: { index: shard.index + shard.count * index, count: shard.count * workerCount },
        rooms,
        wsUrl: o.target.wsUrl,
        ...(o.target.wsUrls ? { wsUrls: o.target.wsUrls } : {}),
        control: o.target.control,
        reportMs,
        transport: o.transport ?? 'ws',
        ...(o.decodeEvery ? { decodeEvery: o.decodeEvery } : {}),
        ...(o.replay ? { replay: o.replay.script } : {}),
      };
      return startTsWorker(new URL('./worker.ts', import.meta.url), { workerData: init });
    });

    const ready = new Set<number>();
    let allReady!: () => void;
    const everyoneReady = new Promise<void>((resolve) => (allReady = resolve));
    // A worker that died while loading will never say it is ready: it no longer holds up t = 0.
    const readyOrGone = (index: number) => {
      ready.add(index);
      if (ready.size === workerCount) allReady();
    };

    const allDone = new Promise<void>((resolve) => {
      const finished = () => {
        if (++finals === workerCount) resolve();
      };
      for (const [index, w] of workers.entries()) {
        let final = false;
        w.on('message', (r: WorkerToMain) => {
          if (r.type === 'ready') {
            readyOrGone(index);
            return;
          }
          aggregate.add(r, now());
          fidelity?.add(r.sends);
          metrics.add(r.counters);
          metrics.latency.add(r.latency);
          metrics.handshake.add(r.handshake);
          metrics.token.add(r.token);
          if (r.final && !final) {
            final = true;
            void w.terminate();
            finished();
          }
        });
        w.on('error', (error) => {
          log(`worker ${index} died: ${error.stack ?? error.message}`);
          failures.push(`worker ${index} died: ${error.message}`);
          readyOrGone(index);
          if (!final) {
            final = true;
            finished();
          }
        });
        w.on('exit', (code) => {
          if (!final) {
            // No final report and no error: its viewers' last second and its closes are lost.
            failures.push(`worker ${index} exited with code ${code} before its final report`);
            log(failures[failures.length - 1]!);
            readyOrGone(index);
            final = true;
            finished();
          }
        });
      }
    });

    // Loading a worker (tsx compiling the runner in that thread) takes from a few hundred ms to
    // several seconds on a busy machine; a fixed head start lost the first seconds of the load
    // phase, or all of it. So t = 0 is set once every worker is ready.
    const loading = setTimeout(() => {
      for (const [index, w] of workers.entries()) {
        if (ready.has(index)) continue;
        failures.push(`worker ${index} did not load within ${WORKER_LOAD_MS / 1000} s`);
        log(failures[failures.length - 1]!);
        void w.terminate();
      }
    }, WORKER_LOAD_MS);
    await everyoneReady;
    clearTimeout(loading);
    const startAt = now() + 100;
    const startedAt = new Date(startAt);
    aggregate = new RunAggregate(plan, startAt, { keepDeliveryLog: o.shard !== undefined });
    if (o.replay) fidelity = new ReplayFidelity(o.replay.script, startAt);
    for (const w of workers) w.postMessage({ type: 'start', startAt } satisfies MainToWorker);

    // When the load phase ended: on plan, or earlier (Ctrl-C, a broken capacity step).
    let loadEndedAt = startAt + plan.durationMs;
    const finish = () => {
      loadEndedAt = Math.min(loadEndedAt, now());
      for (const w of workers) w.postMessage({ type: 'finish' } satisfies MainToWorker);
    };
    o.signal?.addEventListener('abort', finish, { once: true });
    if (o.signal?.aborted) finish();

    let lastTick = now();
    const steps = new StepWatch(plan);
    const tick = (last = false) => {
      const at = now();
      // The last tick comes right after the workers' final reports, which hold up to a whole
      // report period of frames: over the few ms since the previous tick they read as a spike of
      // millions a second (and became the run's "busiest second"). They span a report period.
      const seconds = Math.max(last ? reportMs / 1000 : 0.001, (at - lastTick) / 1000);
      lastTick = at;
      const t = at - startAt;
      aggregate.evaluate(at, false, 2 * reportMs);
      metrics.addMissing(aggregate.takeMissing());
      const counted = t > plan.rampUpMs && t < plan.durationMs;
      const cpu = load.sample(aggregate.worstEventLoopP99Ms, counted);
      const connected = aggregate.connected;
      peakViewers = Math.max(peakViewers, connected);
      aggregate.noteViewers(at);
      metrics.viewers.set(connected);
      metrics.viewersTarget.set(t < plan.endMs ? plan.targetAt(Math.max(0, t)) : 0);
      metrics.generatorCpu.set(cpu);
      const queues = receive.sample();
      readSince.bytes += aggregate.interval.bytesRead;
      readSince.seconds += seconds;
      let backlogMs: number | null = null;
      if (queues) {
        lastBacklogMs = backlogMs = backlogClock.next(queues.clientRecvBytes, readSince.bytes, readSince.seconds);
        metrics.generatorBacklog.set(backlogMs === null ? NaN : backlogMs / 1000);
      }
      // A sample taken (known or not) starts a new interval; one skipped to stay within the
      // sampler's budget leaves its reads to the next sample's interval.
      if (queues !== undefined) readSince = { bytes: 0, seconds: 0 };
      if (t >= 0) {
        const latency = percentilesOf(aggregate.intervalLatency);
        // No report, or no latency sample: the figure is unknown for this interval, and a zero
        // would read as an outage; null draws as a gap.
        const reported = aggregate.intervalReports > 0;
        const sampled = latency.count > 0;
        const point: TimelinePoint = {
          t: Math.round(t / 100) / 10,
          viewers: connected,
          target: plan.targetAt(t),
          sentPerSecond: reported ? aggregate.interval.sent / seconds : null,
          deliveriesPerSecond: reported ? aggregate.interval.frames / seconds : null,
          p50Ms: sampled ? latency.p50 : null,
          p99Ms: sampled ? latency.p99 : null,
          generatorCpuPercent: cpu * 100,
          generatorUnreadBytes: queues ? queues.clientRecvBytes : null,
          generatorBacklogMs: backlogMs,
          serverSendQueueBytes: queues ? queues.serverSendBytes : null,
        };
        timeline.push(point);
        o.onInterval?.(point);
      }
      progress.update(liveLine(t, plan, aggregate, seconds, cpu, load.cores, queues === null ? undefined : lastBacklogMs));

      const stop = steps.check(t, aggregate);
      if (stop) {
        progress.note(stop);
        finish();
      }
      aggregate.resetInterval();
    };
    const ticker = setInterval(tick, reportMs);

    // The load phase's intervals past the ramp (a stepped plan has none: its steps are judged
    // each on its own), up to the end of the load.
    const backlogAt = (endedAt: number) => {
      const loadEnd = Math.min(loadEndedAt, endedAt) - startAt;
      const rampMs = plan.stepMs > 0 ? 0 : plan.rampUpMs;
      const counted = timeline.filter((p) => p.t * 1000 > rampMs && p.t * 1000 < plan.durationMs && p.t * 1000 <= loadEnd + reportMs / 2);
      return backlogSummary(counted, stepLimits(plan).p99Ms);
    };
    // Everything the result is built from, as it stands at `endedAt`: the end of the run, or a soak checkpoint.
    const reportInput = (endedAt: number) => {
      const backlog = backlogAt(endedAt);
      return {
        ...(o.decodeEvery ? { decodeEvery: o.decodeEvery } : {}),
        plan,
        target: { url: o.target.url, kind: o.target.kind },
        startedAt,
        durationSeconds: (endedAt - startAt) / 1000,
        loadSeconds: Math.max(0.001, (Math.min(loadEndedAt, endedAt) - startAt) / 1000),
        aggregate,
        timeline,
        peakViewers,
        ...(o.shard ? { shard: o.shard } : {}),
        ...(o.target.wsUrls ? { nodeUrls: o.target.wsUrls } : {}),
        generator: {
          cpuPercent: load.cpuPercent(),
          cores: load.cores,
          workers: workerCount,
          rssMB: load.rssMB(),
          eventLoopDelayP99Ms: aggregate.eventLoopRunP99Ms,
          backlog,
          warnings: load.warnings(aggregate.eventLoopRunP99Ms, backlog.medianMs === null ? undefined : { medianMs: backlog.medianMs, limitMs: backlog.limitMs }),
        },
        generatorSignals: load.signals(aggregate.eventLoopRunP99Ms),
        failures,
      };
    };
    const checkpoints =
      o.checkpointFile && o.profile.soak
        ? startCheckpoints(
            o.checkpointFile,
            parseDurationMs(o.profile.soak.checkpointEvery ?? '1m'),
            () => {
              const at = now();
              const partial = buildResult({ ...reportInput(at), timeline: [...timeline] });
              addServerSeries(partial, serverWatch, startAt, (Math.min(loadEndedAt, at) - startAt) / 1000, true);
              return partial;
            },
            log,
          )
        : undefined;

    // Workers end on their own after the drain; this is only the backstop for a stuck one.
    const deadline = setTimeout(() => {
      failures.push('workers did not finish in time and were stopped');
      log('workers did not finish in time and were stopped');
      for (const w of workers) void w.terminate();
    }, plan.endMs + 60_000 + (startAt - now()));
    await allDone;
    serverWatch?.stop();
    checkpoints?.stop();
    clearTimeout(deadline);
    clearInterval(ticker);
    o.signal?.removeEventListener('abort', finish);
    tick(true);
    progress.done();

    aggregate.evaluate(now(), true, 0);
    metrics.addMissing(aggregate.takeMissing());
    const endedAt = now();
    const serverAfter = o.target.metricsUrl ? await scrapeServer(o.target.metricsUrl) : undefined;
    if (o.target.cleanUp) {
      const control = createControlPlane(o.target.control);
      await Promise.allSettled(rooms.map((r) => control.deleteRoom(r.arn)));
    }
    const audit = o.audit
      ? await auditChatLog({
          target: o.audit,
          bucket,
          rooms,
          layout: plan.layout,
          ledger: aggregate.ledger,
          moderations: aggregate.moderations,
          viewers: { ...aggregate.ledger.totals, duplicated: aggregate.totals.duplicated, outOfOrder: aggregate.totals.outOfOrder },
        })
      : undefined;
    if (logging && o.target.cleanUp) await createControlPlane(o.target.control).deleteLoggingConfiguration(logging.arn).catch(() => undefined);
    const result = buildResult({
      ...reportInput(endedAt),
      ...(serverBefore && serverAfter
        ? { server: serverUsage(serverBefore, serverAfter, serverWatch?.samples.filter((x) => x.at <= loadEndedAt) ?? [], startAt + plan.rampUpMs) }
        : {}),
    });
    addServerSeries(result, serverWatch, startAt, (Math.min(loadEndedAt, endedAt) - startAt) / 1000);
    // Verdicts judged after the run from what it collected, each in its own module (the soak's
    // slopes above, soak-verdict.ts via soak-run.ts; the chat-log audit below). A verdict may fail a
    // passing run, never pass a failed one.
    if (audit) {
      result.audit = audit;
      result.passed &&= audit.passed;
      if (!audit.passed) result.verdict = 'failed';
    }
    if (fidelity && o.replay) result.replay = fidelity.result(o.replay.log, o.replay.source, plan.roomRateLimit(o.target.roomRateCap));
    return result;
  } finally {
    progress.done();
    await metrics.close();
  }
}

