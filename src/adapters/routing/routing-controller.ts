import type { Recommendation } from '../../domain/decision.js';
import type { Logger } from '../log/logger.js';

/** What a controller answers: whether the action took, why, and the traffic split after it when it knows it. */
export interface RoutingResult {
  ok: boolean;
  detail: string;
  /** Weights per stack after the change (percent), when the controller reads them back. */
  weights?: Record<string, number>;
}

/**
 * The one port every traffic manager implements: carry out an executed recommendation. The
 * contract (test/routing-conformance.test.ts runs it against every controller): `apply` never
 * rejects, it answers `ok: false` with the reason; applying the same recommendation twice changes
 * nothing the second time (the recommendation id is the idempotency key).
 */
export interface RoutingController {
  readonly name: string;
  apply(rec: Recommendation): Promise<RoutingResult>;
  /** Releases what it holds (the webhook's outbox); calls not yet answered are made after the next start. */
  close?(): Promise<void>;
}

/** The embedded default: says what it would do and changes nothing. */
export class DryRunController implements RoutingController {
  readonly name = 'dry-run';

  constructor(private readonly log: Logger) {}

  async apply(rec: Recommendation): Promise<RoutingResult> {
    const detail = `dry-run: would ${rec.reason}`;
    this.log.info({ recommendation: rec.id, action: rec.action, stack: rec.stack, percent: rec.percent, targets: rec.targets }, detail);
    return { ok: true, detail };
  }
}
