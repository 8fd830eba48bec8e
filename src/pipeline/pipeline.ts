import type { ContextEvent, DetectionEvent, Sample } from '../domain/types.js';
import type { DecisionEvent } from '../domain/decision.js';
import type { HarbingerConfig } from '../config/load.js';
import { DetectionEngine, type DetectionStats } from '../core/detection/detection-engine.js';
import { DecisionEngine } from '../core/decide/decision-engine.js';

/** Everything the pipeline emits, in event-time order. */
export type PipelineOutput = DetectionEvent | DecisionEvent;

export interface PipelineSink {
  output(event: PipelineOutput): void;
  rejected?(record: Sample | ContextEvent, reason: string): void;
}

/**
 * The whole pipeline in one place:
 *
 *   samples/events ─► DetectionEngine (reorder, baseline, threshold, prediction, delta, health)
 *                  ─► DecisionEngine (correlation, incidents, ITR workflow, guardrails) ─► sink
 *
 * Both halves are pure and event-time driven; sources and sinks are adapters around this.
 */
export class Pipeline {
  readonly detection: DetectionEngine;
  readonly decision: DecisionEngine;

  constructor(config: HarbingerConfig, sink: PipelineSink, opts: { externalWatermark?: boolean } = {}) {
    this.decision = new DecisionEngine(config.decision, { warnScore: config.detection.threshold.warnScore, horizonMinutes: config.detection.prediction.horizonMinutes }, { decision: (e) => sink.output(e) });
    this.detection = new DetectionEngine(config.detection, {
      detection: (e) => {
        sink.output(e);
        this.decision.onDetection(e);
      },
      context: (e) => this.decision.onContext(e),
      ...(sink.rejected !== undefined ? { rejected: sink.rejected } : {}),
    }, opts.externalWatermark === true);
  }

  offerSample(s: Sample): boolean {
    return this.detection.offerSample(s);
  }

  offerEvent(e: ContextEvent): boolean {
    return this.detection.offerEvent(e);
  }

  flush(): void {
    this.detection.flush();
  }

  stats(): Readonly<DetectionStats> {
    return this.detection.getStats();
  }
}
