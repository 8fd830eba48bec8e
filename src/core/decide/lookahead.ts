import type { Recommendation } from '../../domain/decision.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { DecisionParams } from './decision-params.js';
import { ExplainedWindows, type Window } from '../context/explained-windows.js';
import { LoadProfiles, type LoadProfileParams, type StackProfile } from '../predict/load-profiles.js';
import { outlookOf, type StackOutlook } from '../predict/saturation-forecast.js';
import { scheduledEventOf, ScheduledEvents, type ScheduledEvent } from '../predict/scheduled-events.js';
import { MS_PER_MIN as MIN } from '../time-units.js';
import type { GuardrailState } from './guardrails.js';
import { preemptiveRecommendations } from './preemptive.js';

/**
 * Predictive operations (seed section 14.1), the decision engine's part: learn each stack's load
 * profile, keep the scheduled events, and when one comes within the lead, forecast every stack
 * and recommend for those it would push past their headroom. Pure and event-time driven.
 */
export type LookaheadParams = LoadProfileParams;

export interface LookaheadSnapshot {
  loads: StackProfile[];
  schedule: ReturnType<ScheduledEvents['toJSON']>;
  explained: Window[];
}

export interface LookaheadContext {
  config: DecisionParams;
  guardrails: GuardrailState;
  shareOf: (stack: string) => number | undefined;
  isPrimary: (stack: string) => boolean;
  unfitPeer: (service: string, stack: string) => string | undefined;
  nextId: (scope: string) => string;
}

export class Lookahead {
  private readonly loads: LoadProfiles;
  private readonly schedule = new ScheduledEvents();
  /** Tests, campaigns, chaos, maintenance: their load is not the stack's usual day, so it is not learned. */
  private explained = new ExplainedWindows();

  constructor(private readonly params: LookaheadParams) {
    this.loads = new LoadProfiles(params);
  }

  learn(s: Sample, share: number | undefined): void {
    if (s.signal !== 'capacity' && s.signal !== 'business') return;
    this.loads.learn(s, share, this.explained.explaining(s.stack, s.service, s.ts) !== undefined);
  }

  onContext(e: ContextEvent): void {
    this.explained.add(e);
    const scheduled = scheduledEventOf(e);
    if (scheduled !== undefined) this.schedule.add(scheduled);
  }

  /** Recommendations for the scheduled events whose lead has come (each event looked at once). */
  due(now: number, c: LookaheadContext): Recommendation[] {
    const p = c.config.predictive;
    const leadMs = (p.leadMinutes ?? c.config.guardrails.approvalTimeoutMinutes + c.config.execution.validationMinutes) * MIN;
    const out: Recommendation[] = [];
    for (const ev of this.schedule.due(now, leadMs)) {
      const services = ev.service !== undefined ? [ev.service] : this.loads.services();
      for (const service of services) {
        const outlooks = this.outlooks(ev, service, c.config.guardrails.maxTargetSaturation, c.shareOf);
        out.push(
          ...preemptiveRecommendations({
            event: ev,
            service,
            now,
            outlooks,
            shareOf: c.shareOf,
            unfitPeer: (stack) => c.unfitPeer(service, stack),
            isPrimary: c.isPrimary,
            guardrails: c.guardrails,
            config: c.config,
            nextId: c.nextId,
          }),
        );
      }
    }
    return out;
  }

  private outlooks(ev: ScheduledEvent, service: string, limit: number, shareOf: (stack: string) => number | undefined): StackOutlook[] {
    const seasons = this.params.baseline.seasons;
    // The profile knows one value per bucket, and repeats after its longest season.
    const o = {
      limit,
      stepMs: Math.min(...seasons.map((s) => s.bucketMinutes)) * MIN,
      maxWindowMs: Math.max(...seasons.map((s) => s.minutes)) * MIN,
    };
    const out: StackOutlook[] = [];
    for (const profile of this.loads.profiles(service)) {
      const multiplier = ev.stack === undefined || ev.stack === profile.stack ? ev.multiplier : 1;
      const x = outlookOf(profile, ev, multiplier, shareOf(profile.stack), o);
      if (x !== undefined) out.push(x);
    }
    return out;
  }

  toJSON(): LookaheadSnapshot {
    return { loads: this.loads.toJSON(), schedule: this.schedule.toJSON(), explained: this.explained.toJSON() };
  }

  /** The snapshot without its load profiles, which `takeProfiles` then hands out as they are now (see LoadProfiles.beginSnapshot). */
  beginSnapshot(): LookaheadSnapshot {
    this.loads.beginSnapshot();
    return { loads: [], schedule: this.schedule.toJSON(), explained: this.explained.toJSON() };
  }

  takeProfiles(max: number): string[] | null {
    return this.loads.take(max);
  }

  endSnapshot(): void {
    this.loads.endSnapshot();
  }

  restore(s: LookaheadSnapshot): void {
    this.loads.restore(s.loads);
    this.schedule.restore(s.schedule);
    this.explained = ExplainedWindows.fromJSON(s.explained);
  }
}
