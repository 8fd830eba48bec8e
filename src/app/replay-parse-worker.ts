import { parentPort, workerData } from 'node:worker_threads';
import { readLineBatches } from '../adapters/file/line-reader.js';
import { ParsedBatchBuilder } from '../ingest/parsed-batch.js';

/**
 * The parsing half of a replay, in its own thread: read, split, parse and validate, and hand the
 * pipeline's thread columns of samples. At most `MAX_AHEAD` batches wait unacknowledged, so a fast
 * parser cannot fill memory ahead of a slow pipeline.
 */
const MAX_AHEAD = 4;
const port = parentPort!;
let ahead = 0;
let wake: (() => void) | undefined;
port.on('message', () => {
  ahead--;
  wake?.();
  wake = undefined;
});

const builder = new ParsedBatchBuilder();
try {
  for await (const chunk of readLineBatches((workerData as { path: string }).path)) {
    const b = builder.build(chunk.lines, chunk.firstLineNo, chunk.bytesRead, chunk.totalBytes);
    while (ahead >= MAX_AHEAD) await new Promise<void>((r) => (wake = r));
    ahead++;
    // Transferred, not copied: the arrays were made for this message.
    port.postMessage({ batch: b }, [b.ts.buffer, b.value.buffer, b.count.buffer, b.key.buffer] as ArrayBuffer[]);
  }
  port.postMessage({ done: true });
} catch (err) {
  // The code travels too: the CLI tells a corrupt .gz (zlib's Z_* codes) from other failures.
  port.postMessage({ error: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
}
