// What one connection received from each sender of its room, kept as "first..last minus holes"
// per sender slot: two integers per sender while nothing goes wrong, a short list of holes only
// when a gap, a late message or a duplicate shows up. That keeps a viewer's memory small and
// still lets the ledger say exactly which sequence numbers arrived.

export const RECEIVED_NEW = 0;
export const RECEIVED_DUPLICATE = 1;
export const RECEIVED_OUT_OF_ORDER = 2;

export interface ConnectionSummary {
  /** The receiving viewer: its own messages are acks, not deliveries. */
  viewer: number;
  room: number;
  openedAt: number;
  /** When the connection stopped being able to receive: our close, the DISCONNECT_USER event, or the close frame. */
  closedAt: number;
  /** Per slot: [first, last] received sequence numbers, 0 when nothing arrived. */
  seqs: Int32Array;
  /** Per slot with gaps: sorted inclusive ranges [a0, b0, a1, b1, …] missing inside [first, last]. */
  holes: [slot: number, ranges: number[]][] | null;
  /** Per slot: ranges the sender said may never have been published (SendAttributes.gapFrom). */
  excused?: [slot: number, ranges: number[]][] | null;
  /**
   * Counting receive mode: MESSAGE frames (and their bytes) the connection received, counted from
   * the WebSocket framing; `seqs` then only hold the decoded samples and loss is judged by count.
   */
  counted?: {
    frames: number;
    bytes: number;
    /** When the upgrade request went out: the server subscribed the socket after this. */
    connectingAt: number;
  };
}

export class ReceiveTracker {
  readonly seqs: Int32Array;
  private holes: Map<number, number[]> | null = null;
  private excused: [slot: number, ranges: number[]][] | null = null;

  constructor(readonly slots: number) {
    this.seqs = new Int32Array(slots * 2);
  }

  reset(): void {
    this.seqs.fill(0);
    this.holes = null;
    this.excused = null;
  }

  /** The sender says [from, to] may never have been published (its previous connection's unacked tail). */
  excuse(slot: number, from: number, to: number): void {
    if (to < from) return;
    this.excused ??= [];
    const entry = this.excused.find(([s]) => s === slot);
    if (entry) entry[1].push(from, to);
    else this.excused.push([slot, [from, to]]);
  }

  record(slot: number, seq: number): number {
    const s = this.seqs;
    const f = slot * 2;
    const first = s[f]!;
    const last = s[f + 1]!;
    if (first === 0) {
      s[f] = seq;
      s[f + 1] = seq;
      return RECEIVED_NEW;
    }
    if (seq === last + 1) {
      s[f + 1] = seq;
      return RECEIVED_NEW;
    }
    if (seq > last) {
      this.rangesOf(slot).push(last + 1, seq - 1);
      s[f + 1] = seq;
      return RECEIVED_NEW;
    }
    if (seq < first) {
      if (seq < first - 1) this.rangesOf(slot).unshift(seq + 1, first - 1);
      s[f] = seq;
      return RECEIVED_OUT_OF_ORDER;
    }
    return this.fill(slot, seq) ? RECEIVED_OUT_OF_ORDER : RECEIVED_DUPLICATE;
  }

  /** Counting mode: a decoded sample; out of order when it is older than the slot's last sample. */
  sampled(slot: number, seq: number): number {
    const s = this.seqs;
    const f = slot * 2;
    if (s[f] === 0) s[f] = seq;
    if (seq < s[f + 1]!) return RECEIVED_OUT_OF_ORDER;
    s[f + 1] = seq;
    return RECEIVED_NEW;
  }

  summary(viewer: number, room: number, openedAt: number, closedAt: number): ConnectionSummary {
    let holes: ConnectionSummary['holes'] = null;
    if (this.holes) {
      holes = [];
      for (const [slot, ranges] of this.holes) if (ranges.length > 0) holes.push([slot, ranges.slice()]);
      if (holes.length === 0) holes = null;
    }
    const excused = this.excused ? this.excused.map(([slot, ranges]): [number, number[]] => [slot, ranges.slice()]) : null;
    return { viewer, room, openedAt, closedAt, seqs: this.seqs.slice(), holes, excused };
  }

  private rangesOf(slot: number): number[] {
    this.holes ??= new Map();
    let ranges = this.holes.get(slot);
    if (!ranges) this.holes.set(slot, (ranges = []));
    return ranges;
  }

  /** Removes seq from the slot's holes; false when it was not missing (a duplicate). */
  private fill(slot: number, seq: number): boolean {
    const ranges = this.holes?.get(slot);
    if (!ranges) return false;
    for (let k = 0; k < ranges.length; k += 2) {
      const a = ranges[k]!;
      const b = ranges[k + 1]!;
      if (seq < a) return false;
      if (seq > b) continue;
      if (a === b) ranges.splice(k, 2);
      else if (seq === a) ranges[k] = a + 1;
      else if (seq === b) ranges[k + 1] = b - 1;
      else ranges.splice(k, 2, a, seq - 1, seq + 1, b);
      return true;
    }
    return false;
  }
}
