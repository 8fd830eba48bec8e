import type { Recommendation } from '../../domain/decision.js';
import type { Logger } from '../log/logger.js';

/** The one port every traffic manager implements: carry out an executed recommendation. */
export interface RoutingController {
  readonly name: string;
  apply(rec: Recommendation): Promise<{ ok: boolean; detail: string }>;
}

/** The embedded default: says what it would do and changes nothing. */
export class DryRunController implements RoutingController {
  readonly name = 'dry-run';

  constructor(private readonly log: Logger) {}

  async apply(rec: Recommendation): Promise<{ ok: boolean; detail: string }> {
    const detail = `dry-run: would ${rec.reason}`;
    this.log.info({ recommendation: rec.id, action: rec.action, stack: rec.stack, percent: rec.percent, targets: rec.targets }, detail);
    return { ok: true, detail };
  }
}
