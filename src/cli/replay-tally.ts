import { MITIGATIONS, type ActionKind, type OutcomeEvent, type RecommendationStatus } from '../domain/decision.js';
import type { PipelineOutput } from '../pipeline/pipeline.js';

/** Outcomes that move a recommendation to a new status; the others are post-action validation verdicts. */
const STATUS_OUTCOMES: ReadonlySet<string> = new Set<OutcomeEvent['outcome'] & RecommendationStatus>(['approved', 'rejected', 'executed', 'failed', 'expired']);

/**
 * What a replay decided, for its summary: incidents, recommendations by action and by their last
 * status (an approval or an expiry arrives later as an outcome), and what became of the mitigations.
 * A rehearsal of serve is judged on these, not only on the detection counts.
 */
export class DecisionTally {
  private readonly incidents = { opened: 0, mitigated: 0, resolved: 0 };
  /** By recommendation id: an id emitted again (its status moved on) counts once, as it ended. */
  private readonly recs = new Map<string, { action: ActionKind; status: string }>();
  private readonly validation = new Map<string, number>();

  add(e: PipelineOutput): void {
    if (e.type === 'incident') this.incidents[e.transition]++;
    else if (e.type === 'recommendation') this.recs.set(e.id, { action: e.action, status: e.status });
    else if (e.type === 'outcome') {
      const rec = this.recs.get(e.recommendationId);
      if (STATUS_OUTCOMES.has(e.outcome)) {
        if (rec !== undefined) rec.status = e.outcome;
      } else this.validation.set(e.outcome, (this.validation.get(e.outcome) ?? 0) + 1);
    }
  }

  /** The summary lines, indented like the replay's other summary lines. */
  lines(): string[] {
    const recs = [...this.recs.values()];
    const mitigations = recs.filter((r) => MITIGATIONS.has(r.action));
    const i = this.incidents;
    const out = [
      `  incidents opened ${i.opened}, mitigated ${i.mitigated}, resolved ${i.resolved}`,
      `  recommendations ${recs.length}${recs.length > 0 ? ` by action: ${counts(recs.map((r) => r.action))}; by status: ${counts(recs.map((r) => r.status))}` : ''}`,
    ];
    let m = `  mitigations ${mitigations.length}`;
    if (mitigations.length > 0) m += ` (${counts(mitigations.map((r) => r.action))}): ${counts(mitigations.map((r) => r.status))}`;
    if (this.validation.size > 0) m += `; validated after acting: ${format(this.validation)}`;
    out.push(m);
    return out;
  }
}

const counts = (items: string[]): string => format(items.reduce((by, x) => by.set(x, (by.get(x) ?? 0) + 1), new Map<string, number>()));

/** "a 2, b 1", in name order so that two replays of the same input print the same line. */
function format(by: Map<string, number>): string {
  return [...by]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}
