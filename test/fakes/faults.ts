/**
 * Fault injection shared by every fake store. A fake asks `next(operation)` before serving a call and
 * acts on the answer; tests script faults with the methods below. Operation names are the fake's own
 * (e.g. `GetSecretValue`, `AccessSecretVersion`, `getSecret`); `'*'` matches any.
 */

/** Failure kinds every fake maps onto its service's own error shape. */
export type FaultKind =
  | 'throttle' // AWS ThrottlingException, gRPC RESOURCE_EXHAUSTED, HTTP 429
  | 'unavailable' // AWS 503 / InternalServiceError, gRPC UNAVAILABLE, HTTP 503
  | 'internal' // HTTP 500, gRPC INTERNAL
  | 'denied' // AccessDeniedException, PERMISSION_DENIED, 403
  | 'not-found' // ResourceNotFoundException, NOT_FOUND, 404
  | 'reset'; // the connection is destroyed without an answer

export interface PlannedFault {
  readonly kind: FaultKind;
}

/**
 * Broken answers, kept apart from FaultKind (which every fake, the OAuth one included, maps to an error):
 * - `oversize`: a well-formed success whose value is `oversizeBytes` long, streamed where the protocol
 *   allows (HTTP) rather than built in memory; the way to test that a client bounds what it reads.
 * - `truncate`: a success whose headers promise the whole body (Content-Length, or a gRPC frame length)
 *   but whose connection closes halfway through it.
 * - `truncate-unframed`: the same over HTTP without a Content-Length (the body ends with the connection),
 *   so only the incomplete JSON tells; gRPC always frames its messages, so there it is `truncate`.
 */
export type AnswerFault = 'oversize' | 'truncate' | 'truncate-unframed';

/** What an `oversize` answer carries by default: 100 MiB. */
export const OVERSIZE_ANSWER_BYTES = 100 * 1024 * 1024;

export interface ServeDecision {
  readonly fault: PlannedFault | undefined;
  /** Set when the call is to be answered, but broken (see AnswerFault); `fault` is then undefined. */
  readonly answer?: AnswerFault | undefined;
  /** Delay before answering, in ms. */
  readonly latencyMs: number;
}

interface CountedFault {
  operation: string;
  kind: FaultKind;
  remaining: number;
}

export class FaultInjector {
  private readonly counted: CountedFault[] = [];
  private errorRate = 0;
  private errorRateKind: FaultKind = 'unavailable';
  private latency: { min: number; max: number } = { min: 0, max: 0 };
  private readonly beforeWriteHooks: Array<() => void | Promise<void>> = [];
  private readonly afterWriteHooks: Array<() => void | Promise<void>> = [];
  private readonly answers: Array<{ operation: string; kind: AnswerFault; remaining: number }> = [];
  private random: () => number = Math.random;
  /** Every call the fake served or refused, in order: operation names. */
  readonly calls: string[] = [];
  /** The length of the value in an `oversize` answer. */
  oversizeBytes = OVERSIZE_ANSWER_BYTES;
  /** For each `oversize` answer an HTTP fake streamed: how many bytes it got to send before the client hung up. */
  readonly oversizeSent: number[] = [];

  /** Fail the next `count` calls of `operation` with `kind`. */
  failNext(count: number, kind: FaultKind, operation = '*'): this {
    this.counted.push({ operation, kind, remaining: count });
    return this;
  }

  /** Fail a fraction of all calls at random (0..1). */
  failRandomly(rate: number, kind: FaultKind = 'unavailable', random: () => number = Math.random): this {
    this.errorRate = rate;
    this.errorRateKind = kind;
    this.random = random;
    return this;
  }

  /** Delay every answer by a uniform random time in [min, max] ms. */
  delay(min: number, max = min): this {
    this.latency = { min, max };
    return this;
  }

  /** Answer the next `count` calls of `operation` with a broken success (see AnswerFault). */
  answerNext(count: number, kind: AnswerFault, operation = '*'): this {
    this.answers.push({ operation, kind, remaining: count });
    return this;
  }

  /**
   * Run `hook` once, just before the next write is applied: the way to simulate another writer that
   * adds a version between our read and our write.
   */
  beforeNextWrite(hook: () => void | Promise<void>): this {
    this.beforeWriteHooks.push(hook);
    return this;
  }

  /**
   * Run `hook` once, right after the next write is applied and before it is answered: another writer
   * landing between our write and our check of the latest version.
   */
  afterNextWrite(hook: () => void | Promise<void>): this {
    this.afterWriteHooks.push(hook);
    return this;
  }

  reset(): void {
    this.counted.length = 0;
    this.answers.length = 0;
    this.errorRate = 0;
    this.latency = { min: 0, max: 0 };
    this.beforeWriteHooks.length = 0;
    this.afterWriteHooks.length = 0;
    this.calls.length = 0;
    this.oversizeBytes = OVERSIZE_ANSWER_BYTES;
    this.oversizeSent.length = 0;
  }

  next(operation: string): ServeDecision {
    this.calls.push(operation);
    const latencyMs = this.latency.min + Math.round((this.latency.max - this.latency.min) * this.random());
    const broken = this.answers.find((a) => a.remaining > 0 && (a.operation === '*' || a.operation === operation));
    if (broken) {
      broken.remaining -= 1;
      return { fault: undefined, answer: broken.kind, latencyMs };
    }
    const planned = this.counted.find((f) => f.remaining > 0 && (f.operation === '*' || f.operation === operation));
    if (planned) {
      planned.remaining -= 1;
      return { fault: { kind: planned.kind }, latencyMs };
    }
    if (this.errorRate > 0 && this.random() < this.errorRate) {
      return { fault: { kind: this.errorRateKind }, latencyMs };
    }
    return { fault: undefined, latencyMs };
  }

  /** Called by a fake right before it applies a write. */
  async runBeforeWrite(): Promise<void> {
    const hook = this.beforeWriteHooks.shift();
    if (hook) await hook();
  }

  /** Called by a fake right after it applied a write, before it answers. */
  async runAfterWrite(): Promise<void> {
    const hook = this.afterWriteHooks.shift();
    if (hook) await hook();
  }

  count(operation: string): number {
    return this.calls.filter((call) => call === operation).length;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
