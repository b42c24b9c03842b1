/**
 * How far this machine's clock is ahead of the fleet's, learned from the store. Pure.
 *
 * Every document claude-creds writes carries `writtenAt` in its writer's clock. When a sidecar first sees
 * a document another sidecar wrote, `now - writtenAt` is this clock's lead over the writer's plus the time
 * the document waited in the store (never negative): the smallest such sample bounds the lead from above,
 * and the next fresh write tightens it. Leads under `SKEW_THRESHOLD_MS` (NTP-synced machines, or a
 * document that simply waited) are taken as none. A writer whose clock runs ahead shows up as a negative
 * sample and is left alone: it corrects itself the same way.
 *
 * With a known lead, the sidecar writes its worker's file in the local clock (expiresAt + lead), so the
 * local CLI judges the token by its own clock and does not refresh a login it believes expired, and it
 * writes to the store in the fleet's clock (minus the lead).
 */

/** A lead smaller than this is no lead: pull intervals and store latency alone make samples this large. */
export const SKEW_THRESHOLD_MS = 3_600_000;

export class ClockOffset {
  private smallest: number | undefined;

  /** A sample: now (local clock) minus `writtenAt` of a document another writer wrote, at first sight. */
  observe(sampleMs: number): void {
    if (!Number.isFinite(sampleMs)) return;
    this.smallest = this.smallest === undefined ? sampleMs : Math.min(this.smallest, sampleMs);
  }

  /** This clock's lead over the fleet's, or 0 when there is none worth correcting. */
  get leadMs(): number {
    return this.smallest !== undefined && this.smallest > SKEW_THRESHOLD_MS ? this.smallest : 0;
  }
}
