/** NAB at corpus level: categories, per-category scores at one threshold, and the corpus loader (the only I/O). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSeriesCsv, parseTimestamp, type SeriesRow } from './csv-series.js';
import { sharedDataDir } from './data-dir.js';
import {
  normalize,
  nullScore,
  optimizeThreshold,
  perfectScore,
  scoreFileAtThreshold,
  windowCount,
  type NabFile,
  type NabFileScore,
  type NabProfile,
  type NabScoredFile,
} from './nab.js';

/** Category of a NAB file name: the folder before the first `/` (empty string when none). */
export function nabCategory(name: string): string {
  const i = name.indexOf('/');
  return i === -1 ? '' : name.slice(0, i);
}

/** A category's summed file scores (NabFileScore's counts and raw score) and its normalization. */
export interface NabCategoryScore extends NabFileScore {
  files: number;
  windows: number;
  nullScore: number;
  perfectScore: number;
  /** NaN for a category without windows (e.g. artificialNoAnomaly): look at `score` / `fp` there. */
  normalized: number;
}

/**
 * Per-category raw and normalized scores at one corpus-wide threshold (by default the one
 * {@link optimizeThreshold} picks for the whole set of files).
 */
export function normalizedByCategory(
  files: readonly NabScoredFile[],
  profile: NabProfile,
  threshold: number = optimizeThreshold(files, profile).threshold,
): Record<string, NabCategoryScore> {
  const out: Record<string, NabCategoryScore> = {};
  for (const { file, scores } of files) {
    const cat = nabCategory(file.name);
    const acc = (out[cat] ??= {
      files: 0,
      windows: 0,
      score: 0,
      nullScore: 0,
      perfectScore: 0,
      normalized: NaN,
      tp: 0,
      fp: 0,
      fn: 0,
      tn: 0,
      detectedWindows: 0,
      missedWindows: 0,
    });
    const r = scoreFileAtThreshold(file, scores, threshold, profile);
    acc.files++;
    acc.windows += windowCount(file);
    acc.score += r.score;
    acc.nullScore += nullScore(file, profile);
    acc.perfectScore += perfectScore(file, profile);
    acc.tp += r.tp;
    acc.fp += r.fp;
    acc.fn += r.fn;
    acc.tn += r.tn;
    acc.detectedWindows += r.detectedWindows;
    acc.missedWindows += r.missedWindows;
  }
  for (const acc of Object.values(out)) acc.normalized = normalize(acc.score, acc.nullScore, acc.perfectScore);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Loader (the only I/O in this module)

export interface NabCorpusFile extends NabFile {
  category: string;
  rows: SeriesRow[];
  /** Rows the CSV parser rejected (0 for the NAB corpus). */
  rejects: number;
}

export const NAB_DEV_DIR = join(sharedDataDir(), 'nab-dev');

/**
 * Load a NAB-layout corpus: `labels/combined_windows.json` and each labelled `data/<category>/<file>.csv`
 * that exists (labelled files missing on disk are skipped). Sorted by name.
 */
export function loadNabCorpus(dataDir: string = NAB_DEV_DIR): NabCorpusFile[] {
  const labels = JSON.parse(readFileSync(join(dataDir, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
  const out: NabCorpusFile[] = [];
  for (const name of Object.keys(labels).sort()) {
    let text: string;
    try {
      text = readFileSync(join(dataDir, 'data', name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const parsed = parseSeriesCsv(text);
    const windows = (labels[name] ?? []).map(([a, b]): [number, number] => {
      const start = parseTimestamp(a);
      const end = parseTimestamp(b);
      if (start === undefined || end === undefined) throw new Error(`${name}: bad window [${a}, ${b}]`);
      return [start, end];
    });
    out.push({
      name,
      category: nabCategory(name),
      rows: parsed.rows,
      timestamps: parsed.rows.map((r) => r.ts),
      windows,
      rejects: parsed.rejects.length,
    });
  }
  return out;
}
