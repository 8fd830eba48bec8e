import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HarbingerConfig } from '../config/load.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { encodeState } from '../core/state/json-codec.js';
import { CheckpointFile } from '../adapters/state/checkpoint-file.js';
import { syntheticSamples } from './synthetic.js';

export interface CheckpointFigures {
  series: number;
  /** One JSON document, as before streaming: the event loop is held for all of it (NaN: too large to build). */
  oneShotMs: number;
  streamedTotalMs: number;
  /** The longest the streamed checkpoint held the event loop between two yields. */
  streamedLongestSliceMs: number;
  /** On disk, as `serve` writes it by default (gzipped, see CheckpointFile). */
  bytesPerSeries: number;
  /** The one JSON document's size, uncompressed (NaN: too large to build). */
  plainBytesPerSeries: number;
}

/**
 * A checkpoint of `seriesCount` series both ways in the same run: the whole state as one string
 * (what `serve` did before) and streamed by group, with samples offered between slices as ingest
 * would (what it does now).
 */
export async function benchCheckpoint(config: HarbingerConfig, seriesCount: number): Promise<CheckpointFigures> {
  const pipeline = new Pipeline(config, { output: () => {} });
  // A hundred metrics per service, as on a platform (the per-service health is copied whole when a checkpoint begins).
  for (const s of syntheticSamples(seriesCount, 2, 7, 100)) pipeline.offerSample(s);
  pipeline.flush(); // every series past the reorder buffer, so every group exists
  const t0 = performance.now();
  // Past ~300 k series the one document passes V8's maximum string length: it cannot be written at all.
  let oneShotBytes = Number.NaN;
  let oneShotMs = Number.NaN;
  try {
    oneShotBytes = encodeState(pipeline.snapshot()).length;
    oneShotMs = performance.now() - t0;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  const dir = mkdtempSync(join(tmpdir(), 'harbinger-cp-bench-'));
  try {
    const file = new CheckpointFile(join(dir, 'state.json'));
    const later = syntheticSamples(seriesCount, 3, 7, 100).slice(2 * seriesCount);
    let next = 0;
    // Ingest keeps going while the checkpoint is written: a sample per turn of the event loop.
    let ingesting = true;
    const ingest = (): void => {
      if (!ingesting) return;
      for (let i = 0; i < 64 && next < later.length; i++) pipeline.offerSample(later[next++]!);
      setImmediate(ingest);
    };
    setImmediate(ingest);
    const t1 = performance.now();
    const head = pipeline.beginSnapshot();
    const beginMs = performance.now() - t1;
    const w = await file.write(head, (max) => pipeline.takeGroups(max));
    const streamedTotalMs = performance.now() - t1;
    ingesting = false;
    pipeline.endSnapshot();
    return {
      series: seriesCount,
      oneShotMs,
      streamedTotalMs,
      streamedLongestSliceMs: Math.max(beginMs, w.maxSliceMs),
      bytesPerSeries: w.bytes / seriesCount,
      plainBytesPerSeries: oneShotBytes / seriesCount,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
