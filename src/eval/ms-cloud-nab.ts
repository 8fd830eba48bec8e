import { labelSegments, listMsCloudGroups, loadMsCloudGroup, MS_CLOUD_DIR } from './ms-cloud.js';
import type { NabCorpusFile } from './nab-corpus.js';

/**
 * The Microsoft cloud monitoring set read as a NAB corpus: a second body of real, expert-labelled
 * operations telemetry (crash rates, ingress rates, query rates, dependency latencies; hourly and
 * one-minute) on which `harbinger score` was never tuned. Each group is a category.
 *
 * The experts labelled points, NAB labels windows. NAB's own rule makes the windows
 * (`nab/labeler.py`): the file's anomalies share 10 % of its rows, each anomaly's window centred on
 * it. Here an anomaly is a run of consecutive labelled points, so its window spans the run and
 * extends half a share on each side; overlapping windows merge, as NAB's do. Rows without a value
 * (a few files have empty cells) are left out of the series, so a window keeps the rows that exist.
 */

/** Share of a file's rows NAB's windows take together. */
export const NAB_WINDOW_SHARE = 0.1;

/** Windows `[startTs, endTs]` for one series' labelled runs, by NAB's rule (pure). */
export function nabWindowsFromLabels(rows: readonly { ts: number; label?: number }[]): [number, number][] {
  const runs = labelSegments(rows);
  if (runs.length === 0) return [];
  const half = Math.floor((NAB_WINDOW_SHARE * rows.length) / runs.length / 2);
  const index = new Map(rows.map((r, i) => [r.ts, i]));
  const out: [number, number][] = [];
  for (const [first, last] of runs) {
    const from = rows[Math.max(0, index.get(first)! - half)]!.ts;
    const to = rows[Math.min(rows.length - 1, index.get(last)! + half)]!.ts;
    const prev = out[out.length - 1];
    if (prev !== undefined && from <= prev[1]) prev[1] = Math.max(prev[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** Every series of every group as a NAB file named `<group>/<series>.csv`. */
export function loadMsCloudAsNab(dataDir: string = MS_CLOUD_DIR): NabCorpusFile[] {
  const out: NabCorpusFile[] = [];
  for (const group of listMsCloudGroups(dataDir)) {
    for (const s of loadMsCloudGroup(group, dataDir).series) {
      const rows = s.rows.filter((r) => !Number.isNaN(r.value));
      out.push({
        name: `${group}/${s.name}.csv`,
        category: group,
        rows: rows.map((r) => ({ ts: r.ts, value: r.value })),
        timestamps: rows.map((r) => r.ts),
        windows: nabWindowsFromLabels(rows),
        rejects: s.rejects,
      });
    }
  }
  return out;
}
