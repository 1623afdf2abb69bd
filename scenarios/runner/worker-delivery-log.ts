import type { DeliveryLog } from '../lib/ports.ts';
import type { ConnectionSummary } from '../lib/receive-tracker.ts';

/** Batches sends, their outcomes and closed connections for the main thread's ledger. */
export class WorkerDeliveryLog implements DeliveryLog {
  private sends: number[] = [];
  private resolutions: number[] = [];
  private closedList: ConnectionSummary[] = [];
  private moderations: [room: number, tag: string, outcome: number][] = [];

  sent(sender: number, seq: number, at: number): void {
    this.sends.push(sender, seq, at);
  }
  resolved(sender: number, seq: number, outcome: number, at: number): void {
    this.resolutions.push(sender, seq, outcome, at);
  }
  closed(summary: ConnectionSummary): void {
    this.closedList.push(summary);
  }
  moderated(room: number, tag: string, outcome: number): void {
    this.moderations.push([room, tag, outcome]);
  }

  take(): { sends: number[]; resolutions: number[]; closed: ConnectionSummary[]; moderations: [number, string, number][] } {
    const out = { sends: this.sends, resolutions: this.resolutions, closed: this.closedList, moderations: this.moderations };
    this.sends = [];
    this.resolutions = [];
    this.closedList = [];
    this.moderations = [];
    return out;
  }
}
