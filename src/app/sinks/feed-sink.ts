import { createWriteStream } from 'node:fs';
import type { DecisionSink } from './decision-sink.js';

/** Every decision as one JSON line in `recommendations.jsonl` (tail it, ship it). */
export function feedSink(path: string): DecisionSink {
  const feed = createWriteStream(path, { flags: 'a' });
  return {
    name: 'feed',
    decision: (e) => {
      feed.write(`${JSON.stringify(e)}\n`);
    },
    close: () => new Promise<void>((resolve) => feed.end(() => resolve())),
  };
}
