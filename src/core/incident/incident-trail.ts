import type { DecisionEvent, Incident, OutcomeEvent, Recommendation } from '../../domain/decision.js';
import type { ContextEvent } from '../../domain/types.js';
import type { HeldWindows, RecentPoints, RecentPointsReader, SeriesWindow } from '../detection/recent-points.js';

/**
 * What an incident page plots besides the incident record: its series, the context events of its
 * service and the outcomes of its recommendations. Fed from the pipeline's decision and context
 * output; bounded everywhere (the oldest go first), not checkpointed. Pure, event-time.
 */

/** One incident as the on-call view and the report draw it. */
export interface IncidentView {
  incident: Incident;
  recommendations: Recommendation[];
  /** The incident's metrics on every stack of its service: the culprit and its peers. */
  series: SeriesWindow[];
  /** Context events of the service (or of all services) from the window's start. */
  events: ContextEvent[];
  /** Approvals, executions, validations of its recommendations. */
  outcomes: OutcomeEvent[];
}

const MAX_EVENTS = 500;
const MAX_OUTCOMES = 2_000;
/** Resolved incidents whose series are kept as they were at resolution (the rings move on). */
const MAX_FROZEN = 20;
/** Context events this long before the first plotted point still explain it (a deploy before the window). */
const EVENT_LOOKBACK_MS = 3_600_000;

/** The metrics an incident concerns: every one it holds evidence for. */
export function incidentMetrics(inc: Incident): string[] {
  return [...new Set([...Object.keys(inc.signals), ...Object.keys(inc.predictions), ...Object.keys(inc.breaches), ...Object.keys(inc.deltas)])].sort();
}

export class IncidentTrail {
  private events: ContextEvent[] = [];
  private outcomes: OutcomeEvent[] = [];
  private readonly frozen = new Map<string, HeldWindows>();

  constructor(
    private readonly points: RecentPointsReader & Pick<RecentPoints, 'watch' | 'release' | 'hold'>,
    /** The incident behind an id, when the decision engine still holds it. */
    private readonly incidentOf: (id: string) => Incident | undefined,
  ) {}

  context(e: ContextEvent): void {
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** Called before the event reaches any sink, so a reader at `resolved` finds the frozen series. */
  decision(e: DecisionEvent): void {
    if (e.type === 'outcome') {
      this.outcomes.push(e);
      if (this.outcomes.length > MAX_OUTCOMES) this.outcomes.splice(0, this.outcomes.length - MAX_OUTCOMES);
    } else if (e.type === 'incident' && e.transition === 'opened') this.points.watch(e.incident.service, e.incident.id);
    else if (e.type === 'incident' && e.transition === 'resolved') {
      const inc = this.incidentOf(e.incident.id);
      if (inc !== undefined) {
        this.frozen.set(inc.id, this.points.hold(inc.service, incidentMetrics(inc)));
        if (this.frozen.size > MAX_FROZEN) this.frozen.delete(this.frozen.keys().next().value!);
      }
      this.points.release(e.incident.service, e.incident.id, e.ts);
    }
  }

  /** After a restore: open incidents keep their service's series long again. */
  rewatch(open: readonly Incident[]): void {
    for (const inc of open) if (inc.status !== 'resolved') this.points.watch(inc.service, inc.id);
  }

  view(inc: Incident, recommendations: readonly Recommendation[]): IncidentView {
    const series = this.frozen.get(inc.id)?.windows() ?? this.points.windows(inc.service, incidentMetrics(inc));
    let from = inc.openedAt;
    for (const s of series) if (s.ts.length > 0 && s.ts[0]! < from) from = s.ts[0]!;
    from -= EVENT_LOOKBACK_MS;
    const to = inc.resolvedAt ?? Number.POSITIVE_INFINITY;
    const recs = recommendations.filter((r) => r.incidentId === inc.id);
    const ids = new Set(recs.map((r) => r.id));
    return {
      incident: inc,
      recommendations: recs,
      series,
      events: this.events.filter((e) => (e.service === undefined || e.service === inc.service) && (e.endTs ?? e.ts) >= from && e.ts <= to),
      outcomes: this.outcomes.filter((o) => ids.has(o.recommendationId)),
    };
  }
}
