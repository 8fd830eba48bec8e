import type { IncidentView } from '../core/incident/incident-trail.js';
import type { PipelineOutput, Pipeline } from '../pipeline/pipeline.js';
import { renderIncidentPage, type ReportData } from './incident-page.js';

/**
 * Collects `replay --report`'s incident pages while the replay runs: an incident's view is taken
 * when it resolves, since the plot rings have moved on by the end of a long replay; the ones still
 * open are taken at the end. Memory grows with incidents, which is what a report is about.
 */
export class ReportCollector {
  private pipeline: Pipeline | undefined;
  private readonly views = new Map<string, IncidentView>();

  attach(pipeline: Pipeline): void {
    this.pipeline = pipeline;
  }

  onEvent(e: PipelineOutput): void {
    if (e.type !== 'incident' || e.transition !== 'resolved' || this.pipeline === undefined) return;
    const p = this.pipeline;
    const inc = p.decision.incidents().find((i) => i.id === e.incident.id);
    if (inc !== undefined) this.views.set(inc.id, p.trail.view(inc, p.decision.allRecommendations()));
  }

  /** Every incident in opening order, with its recommendations as they ended. */
  data(source: string): ReportData {
    const p = this.pipeline;
    if (p === undefined) return { source, views: [] };
    const recs = p.decision.allRecommendations();
    const views = p.decision
      .incidents()
      .map((inc) => {
        const now = p.trail.view(inc, recs);
        const then = this.views.get(inc.id);
        // Series and events as they were at resolution; outcomes and statuses as they are now
        // (unless the bounded outcome list, or the ledger, which forgets an incident's
        // informational recommendations a day after it, has let them go).
        return then === undefined
          ? now
          : {
              ...now,
              recommendations: [
                ...then.recommendations.map((r) => now.recommendations.find((n) => n.id === r.id) ?? r),
                ...now.recommendations.filter((n) => !then.recommendations.some((r) => r.id === n.id)),
              ],
              series: then.series,
              events: then.events,
              outcomes: now.outcomes.length > 0 ? now.outcomes : then.outcomes,
            };
      })
      .sort((a, b) => a.incident.openedAt - b.incident.openedAt || (a.incident.id < b.incident.id ? -1 : 1));
    return { source, views };
  }

  html(source: string): string {
    return renderIncidentPage(this.data(source)).html;
  }
}
