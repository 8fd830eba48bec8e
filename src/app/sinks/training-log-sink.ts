import { join } from 'node:path';
import type { RotationPolicy } from '../../adapters/file/rotated-files.js';
import type { Recommendation } from '../../domain/decision.js';
import type { Logger } from '../../adapters/log/logger.js';
import type { DecisionSink } from './decision-sink.js';

/** Operator decisions and validations become labels for the next `harbinger train --data`. */
export function trainingLogSink(
  dataDir: string,
  recommendation: (id: string) => Recommendation | undefined,
  log: Logger,
  rotation?: RotationPolicy,
): DecisionSink {
  return {
    name: 'training-log',
    decision: (o) => {
      if (o.type !== 'outcome' || !['approved', 'rejected', 'effective', 'ineffective'].includes(o.outcome)) return;
      const rec = recommendation(o.recommendationId);
      if (rec === undefined) return;
      // Imported lazily: the model code loads only when there is something to record.
      import('../../model/training-log.js')
        .then(({ appendTrainingLog, trainingLogEntryFromOutcome }) => {
          const entry = trainingLogEntryFromOutcome(rec, o);
          if (entry !== undefined) appendTrainingLog(join(dataDir, 'training-log.jsonl'), entry, rotation);
        })
        .catch((err: Error) => log.warn({ err: err.message }, 'training log not written'));
    },
  };
}
