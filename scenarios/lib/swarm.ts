import { filler, type MessageScan } from './codec.ts';
import { parseDurationMs } from './duration.ts';
import type {
  Capability,
  ChatterHost,
  Clock,
  ControlPlane,
  DeliveryLog,
  MetricsSink,
  ModeratorHost,
  RoomRef,
  Ticker,
  Transport,
  ViewerHost,
  ViewerSettings,
} from './ports.ts';
import { ControlPlaneError, VIEWER_CLOSING, VIEWER_CONNECTING, VIEWER_OPEN, VIEWER_TOKEN } from './ports.ts';
import { ReplayDriver } from './replay/replay-driver.ts';
import type { ReplayScript } from './replay/replay-script.ts';
import { ROLE_CHATTER, ROLE_MODERATOR, type Plan } from './schedule.ts';
import { Viewer } from './viewer.ts';

// A share of the audience driven by one event loop (a worker thread, or a k6 VU). Slice k of n
// owns viewers k, k+n, k+2n, … so every slice sees the same plan and no slice waits on another.
// One ticker drives everything — ramp, sends, churn, storms, moderation, the end — instead of a
// timer per viewer.

export interface SwarmOptions {
  plan: Plan;
  slice: { index: number; count: number };
  rooms: readonly RoomRef[];
  wsUrl: string;
  /** Several nodes of one service: viewer i joins wsUrls[i mod n] (then wsUrl is unused). */
  wsUrls?: readonly string[];
  /** Epoch ms at which the load phase starts (t = 0), shared by all slices. */
  startAt: number;
  clock: Clock;
  ticker: Ticker;
  transport: Transport;
  control: ControlPlane;
  metrics: MetricsSink;
  log: DeliveryLog;
  random?: () => number;
  /** A recorded log to replay instead of the profile's synthetic chat and moderation. */
  replay?: ReplayScript;
  tickMs?: number;
  /** Handshakes (token + upgrade) in flight at once, per slice. */
  maxConnecting?: number;
  /** After the end, how long to wait for closes before giving up on them. */
  closeTimeoutMs?: number;
  /** Counting receive mode (raw transport): plain viewers decode only every Nth MESSAGE frame; 0 = decode all. */
  decodeEvery?: number;
}

export class Swarm implements ViewerHost, ChatterHost, ModeratorHost {
  readonly plan: Plan;
  readonly rooms: readonly RoomRef[];
  readonly wsUrl: string;
  /** How many nodes the viewers are spread over (1: all on wsUrl). */
  readonly nodes: number;
  private readonly wsUrls: readonly string[];
  readonly clock: Clock;
  readonly transport: Transport;
  readonly control: ControlPlane;
  readonly metrics: MetricsSink;
  readonly log: DeliveryLog;
  readonly random: () => number;
  readonly viewers: Viewer[] = [];
  /** Shared scratch for the receive fast path. */
  readonly scan: MessageScan = { sendTime: 0, sender: 0, seq: 0, idStart: 0 };
  readonly content: string;
  /** The chatters' current period: follows the plan's rate (rate steps change it), set on each tick. */
  sendPeriodMs: number;
  readonly reconnectDelayMs: number;
  readonly replay: ReplayDriver | undefined;
  readonly layout: Plan['layout'];
  readonly settings: ViewerSettings;
  readonly settleMs: number;
  readonly moderation: ModeratorHost['moderation'];
  private readonly rejoinDelayMs: number;
  connected = 0;
  connecting = 0;
  /** Viewers [0, admitted) of this slice are in the audience now. */
  private admitted = 0;
  private readonly chatters: Viewer[] = [];
  private readonly moderators: Viewer[] = [];
  private waiting: Viewer[] = [];
  private connectBudget = 0;
  private readonly connectRate: number;
  private churnCarry = 0;
  private nextStorm = 0;
  private lastTick = 0;
  private handle: unknown;
  private finishing = false;
  private endedAt = 0;
  private resolveFinished!: () => void;
  readonly finished: Promise<void>;

  constructor(private readonly o: SwarmOptions) {
    this.plan = o.plan;
    this.rooms = o.rooms;
    this.wsUrl = o.wsUrl;
    this.wsUrls = o.wsUrls?.length ? o.wsUrls : [o.wsUrl];
    this.nodes = this.wsUrls.length;
    this.clock = o.clock;
    this.transport = o.transport;
    this.control = o.control;
    this.metrics = o.metrics;
    this.log = o.log;
    this.random = o.random ?? Math.random;
    const p = o.plan.profile;
    this.content = filler(p.messageBytes);
    this.sendPeriodMs = periodMs(o.plan.rateAt(0));
    this.reconnectDelayMs = parseDurationMs(p.reconnect.delay);
    this.rejoinDelayMs = parseDurationMs(p.churn.rejoinDelay);
    this.connectRate = p.connectRate > 0 ? p.connectRate / o.slice.count : 0;
    const layout = o.plan.layout;
    this.layout = layout;
    this.settleMs = o.plan.settleMs;
    this.moderation = p.moderation;
    this.settings = {
      slots: p.chattersPerRoom,
      nodes: this.nodes,
      reconnect: p.reconnect,
      reconnectDelayMs: this.reconnectDelayMs,
      decodeEvery: o.decodeEvery ?? 0,
    };
    for (let i = o.slice.index, k = 0; i < p.viewers; i += o.slice.count, k++) {
      const v = new Viewer(this, i, k, layout.roomOf(i), layout.roleOf(i), this);
      this.viewers.push(v);
      if (v.role === ROLE_CHATTER) this.chatters.push(v);
      if (v.role === ROLE_MODERATOR) this.moderators.push(v);
    }
    this.replay = o.replay ? new ReplayDriver(this, o.replay, this.chatters, this.moderators) : undefined;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /** The node viewer `index` joins: fixed by its number, so every slice and shard agrees. */
  wsUrlOf(index: number): string {
    return this.wsUrls[index % this.nodes]!;
  }

  start(): void {
    this.lastTick = this.clock.now();
    this.handle = this.o.ticker.every(this.o.tickMs ?? 20, () => this.tick());
  }

  /** Stops at once: every socket is closed from our side. */
  abort(): void {
    if (this.finishing) return;
    this.finishing = true;
    this.endedAt = this.clock.now();
    for (const v of this.viewers) v.leave(0);
  }

  /** How many viewers of this slice the plan wants connected now. */
  get wanted(): number {
    return this.admitted;
  }

  wants(position: number): boolean {
    return !this.finishing && position < this.admitted;
  }

  rejoin(position: number): void {
    if (!this.finishing) this.waiting.push(this.viewers[position]!);
  }

  moved(from: number, to: number): void {
    if (from === VIEWER_TOKEN || from === VIEWER_CONNECTING) this.connecting--;
    else if (from === VIEWER_OPEN || from === VIEWER_CLOSING) this.connected--;
    if (to === VIEWER_TOKEN || to === VIEWER_CONNECTING) this.connecting++;
    else if (to === VIEWER_OPEN || to === VIEWER_CLOSING) this.connected++;
  }

  token(index: number, room: number, capabilities: Capability[]): Promise<string> {
    return this.control.createChatToken({
      roomArn: this.rooms[room]!.arn,
      userId: this.layout.userIdOf(index),
      capabilities,
      sessionDurationInMinutes: this.plan.profile.sessionDurationMinutes,
    });
  }

  roomArn(room: number): string {
    return this.rooms[room]!.arn;
  }

  saw(sender: number, seq: number, id: string): void {
    this.replay?.saw(sender, seq, id);
  }

  jitter(ms: number): number {
    return ms * (0.5 + this.random());
  }

  noteError(operation: string, error: unknown): void {
    this.metrics.apiError(operation, error instanceof ControlPlaneError ? error.status : 0);
  }

  /** A random viewer of the room other than the moderator, for DisconnectUser. */
  pickVictim(room: number, moderator: number): number {
    const layout = this.plan.layout;
    const population = Math.max(1, this.plan.targetAt(this.clock.now() - this.o.startAt));
    for (let tries = 0; tries < 32; tries++) {
      const i = Math.floor(this.random() * population);
      if (i !== moderator && layout.roomOf(i) === room && layout.roleOf(i) !== ROLE_MODERATOR) return i;
    }
    return -1;
  }

  private tick(): void {
    const now = this.clock.now();
    const dt = Math.min(1000, now - this.lastTick);
    this.lastTick = now;
    const t = now - this.o.startAt;
    if (t < 0) return;
    if (this.finishing) {
      this.finishIfClosed(now);
      return;
    }
    const phase = this.plan.phaseAt(t);
    if (phase === 'done') {
      this.abort();
      this.finishIfClosed(now);
      return;
    }
    this.admit(t, now, dt);
    if (phase === 'drain') return;
    this.churn(t, now, dt);
    if (this.replay) {
      this.replay.tick(t, now);
      return;
    }
    this.sendPeriodMs = periodMs(this.plan.rateAt(t));
    for (const c of this.chatters) if (c.isOpen) c.sendIfDue(now);
    for (const m of this.moderators) if (m.isOpen) m.moderate(dt);
  }

  private admit(t: number, now: number, dt: number): void {
    const target = this.plan.targetAt(t);
    const { index, count } = this.o.slice;
    const wanted = Math.max(0, Math.ceil((target - index) / count));
    // Ramp down: the newest viewers leave first.
    while (this.admitted > wanted) this.viewers[--this.admitted]!.leave(0);

    const limit = this.o.maxConnecting ?? 256;
    if (this.connectRate > 0) this.connectBudget = Math.min(this.connectRate, this.connectBudget + (this.connectRate * dt) / 1000);
    const canConnect = () => this.connecting < limit && (this.connectRate === 0 || this.connectBudget >= 1);
    const spend = () => {
      if (this.connectRate > 0) this.connectBudget--;
    };

    if (this.waiting.length > 0) {
      const still: Viewer[] = [];
      for (const v of this.waiting) {
        if (v.position >= this.admitted || !v.isIdle) continue;
        if (v.rejoinAt <= now && canConnect()) {
          spend();
          v.rejoinAt = 0;
          v.connect();
        } else {
          still.push(v);
        }
      }
      this.waiting = still;
    }
    while (this.admitted < wanted && canConnect()) {
      const v = this.viewers[this.admitted++]!;
      if (!v.isIdle) continue;
      spend();
      v.connect();
    }
  }

  private churn(t: number, now: number, dt: number): void {
    const churn = this.plan.profile.churn;
    const rejoinMs = this.rejoinDelayMs;
    while (this.nextStorm < this.plan.storms.length && this.plan.storms[this.nextStorm]!.atMs <= t) {
      const storm = this.plan.storms[this.nextStorm++]!;
      // Everyone comes back at about the same moment: that is the token-rate pressure.
      for (let k = 0; k < this.admitted; k++) {
        const v = this.viewers[k]!;
        if (v.isOpen && v.role !== ROLE_MODERATOR && this.random() < storm.leave) v.leave(now + rejoinMs + this.random() * 200);
      }
    }
    if (churn.leavePerSecond <= 0 || this.admitted === 0) return;
    this.churnCarry += (this.connected * churn.leavePerSecond * dt) / 1000;
    for (let tries = 0; this.churnCarry >= 1 && tries < 4 * this.admitted; tries++) {
      const v = this.viewers[Math.floor(this.random() * this.admitted)]!;
      if (!v.isOpen || v.role === ROLE_MODERATOR) continue;
      this.churnCarry--;
      v.leave(now + this.jitter(rejoinMs));
    }
    if (this.churnCarry > 1) this.churnCarry = 1;
  }

  private finishIfClosed(now: number): void {
    const timeout = this.o.closeTimeoutMs ?? 10_000;
    if ((this.connected > 0 || this.connecting > 0) && now - this.endedAt < timeout) return;
    this.o.ticker.cancel(this.handle);
    this.resolveFinished();
  }
}

function periodMs(rate: number): number {
  return rate > 0 ? 1000 / rate : Number.POSITIVE_INFINITY;
}
