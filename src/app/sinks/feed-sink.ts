import { appendRotating } from '../../adapters/file/rotating-append.js';
import type { RotationPolicy } from '../../adapters/file/rotated-files.js';
import type { DecisionSink } from './decision-sink.js';

/**
 * Every decision as one JSON line in `recommendations.jsonl` (tail it, ship it), rotated by size
 * (`server.logs.feed`). Appended synchronously, like the audit log: a line per decision, and a
 * rotation must not race a buffered write.
 */
export function feedSink(path: string, rotation?: RotationPolicy): DecisionSink {
  return {
    name: 'feed',
    decision: (e) => appendRotating(path, JSON.stringify(e), rotation),
  };
}
