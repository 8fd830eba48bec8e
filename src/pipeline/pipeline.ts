import type { ContextEvent, DetectionEvent, Sample } from '../domain/types.js';
import type { DecisionEvent } from '../domain/decision.js';
import type { HarbingerConfig } from '../config/load.js';
import { DetectionEngine, type DetectionSnapshot, type DetectionStats } from '../core/detection/detection-engine.js';
import { DecisionEngine, withLoadProfiles, type DecisionSnapshot } from '../core/decide/decision-engine.js';
import { DetectionMerge, type MergeSnapshot } from '../core/merge/detection-merge.js';
import { encodeState } from '../core/state/json-codec.js';
import { IncidentTrail } from '../core/incident/incident-trail.js';
import type { GroupSnapshot } from '../core/detection/snapshot-stream.js';
import type { StackProfile } from '../core/predict/load-profiles.js';

/** Everything the pipeline emits, in event-time order. */
export type PipelineOutput = DetectionEvent | DecisionEvent;

export interface PipelineSink {
  output(event: PipelineOutput): void;
  rejected?(record: Sample | ContextEvent, reason: string): void;
}

export interface PipelineSnapshot {
  detection: DetectionSnapshot;
  merge: MergeSnapshot;
  decision: DecisionSnapshot;
}

/** A streamed snapshot's head, as `beginSnapshot` encodes it: every stage, the pieces `takeGroups` hands out left out. */
export type StreamedHead = Omit<PipelineSnapshot, 'detection'> & { detection: Omit<DetectionSnapshot, 'groups'> };

/**
 * A snapshot from a streamed head and its decoded pieces (the lines `takeGroups` handed out, in
 * any order): metric groups, and load profiles wrapped as `{"loadProfile": ...}`, which join any
 * the head holds (a checkpoint written before streaming them held them all there).
 */
export function snapshotFromPieces(head: StreamedHead, pieces: Iterable<unknown>): PipelineSnapshot {
  const groups: GroupSnapshot[] = [];
  const profiles: StackProfile[] = [];
  for (const piece of pieces) {
    if (piece !== null && typeof piece === 'object' && LOAD_PROFILE in piece) profiles.push((piece as { [LOAD_PROFILE]: StackProfile })[LOAD_PROFILE]);
    else groups.push(piece as GroupSnapshot);
  }
  const { detection, merge, decision } = head;
  return { detection: { ...detection, groups }, merge, decision: withLoadProfiles(decision, profiles) };
}

/** The in-process pipeline is one shard of the merge. */
const LOCAL = 'local';

/** The key a streamed checkpoint's load-profile pieces are wrapped in; the other pieces are metric groups. */
export const LOAD_PROFILE = 'loadProfile';

/**
 * The whole pipeline in one place:
 *
 *   samples/events ─► DetectionEngine (reorder, baseline, threshold, prediction, delta, health)
 *                  ─► DetectionMerge (canonical order, health across shards)
 *                  ─► DecisionEngine (correlation, incidents, ITR workflow, guardrails) ─► sink
 *
 * All three are pure and event-time driven; sources and sinks are adapters around this. On Kafka
 * the same stages run apart (one DetectionEngine per partition, the merge and decision behind a
 * one-partition topic: see adapters/kafka), and the merge makes both orders of events identical.
 */
export class Pipeline {
  readonly detection: DetectionEngine;
  readonly merge: DetectionMerge;
  readonly decision: DecisionEngine;
  /** What incident pages plot (series, context events, outcomes): read by the on-call view and the report. */
  readonly trail: IncidentTrail;
  private seq = 0;
  private mergedTo = -Infinity;

  constructor(config: HarbingerConfig, sink: PipelineSink) {
    this.decision = new DecisionEngine(
      config.decision,
      {
        warnScore: config.detection.threshold.warnScore,
        horizonMinutes: config.detection.prediction.horizonMinutes,
        // The look-ahead learns load profiles as the detection learns its baselines, and knows saturation by the same gates.
        baseline: config.detection.baseline,
        gates: config.detection.slo.gates,
      },
      {
        decision: (e) => {
          this.trail.decision(e);
          sink.output(e);
        },
      },
      undefined,
      config.limits,
    );
    this.merge = new DetectionMerge([LOCAL], {
      detection: (e) => {
        sink.output(e);
        this.decision.onDetection(e);
      },
      context: (e) => {
        this.trail.context(e);
        this.decision.onContext(e);
      },
    });
    this.detection = new DetectionEngine(
      config.detection,
      {
        detection: (e) => this.merge.offer(LOCAL, ++this.seq, e),
        context: (e) => this.merge.offer(LOCAL, ++this.seq, e),
        ...(sink.rejected !== undefined ? { rejected: sink.rejected } : {}),
      },
      false,
      config.limits.maxSeries,
    );
    this.trail = new IncidentTrail(this.detection.recentPoints, (id) => this.decision.incidents().find((i) => i.id === id));
  }

  offerSample(s: Sample): boolean {
    const ok = this.detection.offerSample(s);
    if (ok) this.decision.observeSample(s);
    this.advanceMerge();
    return ok;
  }

  offerEvent(e: ContextEvent): boolean {
    const ok = this.detection.offerEvent(e);
    this.advanceMerge();
    return ok;
  }

  /** Move event time without data (a live service's wall clock). */
  advanceTo(ts: number): void {
    this.detection.advanceTo(ts);
    this.advanceMerge();
  }

  /** Per sample: a number compare unless the engine's watermark actually moved. */
  private advanceMerge(): void {
    const w = this.detection.watermark;
    if (w > this.mergedTo) {
      this.mergedTo = w;
      this.merge.advance(LOCAL, w);
    }
  }

  flush(): void {
    this.detection.flush();
    this.merge.flush();
  }

  stats(): Readonly<DetectionStats> {
    return this.detection.getStats();
  }

  snapshot(): PipelineSnapshot {
    return { detection: this.detection.snapshot(), merge: this.merge.snapshot(), decision: this.decision.snapshot() };
  }

  /**
   * A snapshot streamed in pieces (see DetectionEngine.beginSnapshot): returns the head (every
   * stage, the detection groups and the look-ahead's load profiles excepted) encoded now,
   * consistent with the pieces `takeGroups` then hands out as they were at this moment: every
   * metric group, then every load profile wrapped as `{"loadProfile": ...}` (see `isLoadProfileLine`).
   */
  beginSnapshot(): string {
    const detection = this.detection.beginSnapshot();
    return encodeState({ detection, merge: this.merge.snapshot(), decision: this.decision.beginSnapshot() });
  }

  takeGroups(max: number): string[] | null {
    const groups = this.detection.takeGroups(max);
    if (groups !== null) return groups;
    const profiles = this.decision.takeProfiles(max);
    return profiles === null ? null : profiles.map((p) => `{"${LOAD_PROFILE}":${p}}`);
  }

  endSnapshot(): void {
    this.detection.endSnapshot();
    this.decision.endSnapshot();
  }

  restore(s: { detection: DetectionSnapshot; merge?: MergeSnapshot; decision: DecisionSnapshot }): void {
    this.detection.restore(s.detection);
    if (s.merge !== undefined) this.merge.restore(s.merge);
    this.seq = this.merge.lastSeq(LOCAL);
    this.mergedTo = this.merge.watermark;
    this.decision.restore(s.decision);
    this.trail.rewatch(this.decision.incidents());
  }
}
