/**
 * Loader for the Microsoft Cloud Monitoring dataset (/work/shared/data/ms-cloud-monitoring, MIT):
 * `data/<group>/<series>.csv` with columns `TimeStamp,Value,Label` (Label 1 = anomalous point) and a
 * CSVW `<series>.csv-metadata.json` whose `notes` hold the experts' description.
 *
 * What each group is (all times UTC; "event" = a run of consecutive labelled points; peers =
 * the other series of the same group). Surveyed from the files, 2018 dates:
 *
 * - middle-tier-api-dependency-latency — 23 series, 1 h, 720 points each (06-17 → 07-16), no gaps.
 *   Latency a middle-tier service sees calling its backends: outbound-01 is the OVERALL latency,
 *   outbound-02..23 one dependency each. Labels (26 merged events):
 *   · 06-21 04:00–06:00: labelled on the overall and 17 of 22 dependencies at once (latency drops
 *     on most of them) — a global, all-peers event, embedded in a 06-19 18:00 → 06-21 22:00 period of
 *     multi-dependency labels (07, 09, 12, 15, 18, 19, 20);
 *   · 07-01 23:00 → 07-02 03:00: overall + 03, 04, 05, 08 (those four jump 9–72×, the rest ≈1×):
 *     a localised subset, the overall series reflects it;
 *   · 07-12 02:00 → 07-13 00:00: 04, 05, 08 (08 ≈9×; 03 also rises 1.8× but is not labelled); the
 *     overall is not labelled;
 *   · single-dependency events with every peer normal: outbound-02 at 06-28 09:00, 06-29 01:00,
 *     06-30 15:00, 07-01 01:00, 07-03 07:00, 07-03 13:00, 07-10 13:00 (06-28: 02 rises 8×, peers ≈1×);
 *     outbound-23 at 06-29 14:00, 06-30 09:00, 07-04 05:00, 07-08 06:00; 19 at 06-29 17:00 and 07-15 22:00;
 *     07 at 06-29 20:00 → 06-30 08:00; 03 at 07-04 00:00; 09 at 07-10 07:00;
 *   · pairs: 02+20 (06-27, 07-02), 21+23 (07-02 21:00), 11+21 (07-04 → 07-06), 09+11 (07-09), 10+22
 *     (07-16 16:00), 05+10+12+21 (06-21 23:00 → 06-22 22:00).
 *   Caveats: outbound-10 and outbound-22 carry IDENTICAL values (labels differ only at 06-22
 *   18:00–21:00, labelled on 10 only); outbound-16 is all-normal and 99 % zeros; 23 is 93 % zeros,
 *   02 is 61 % zeros (sparse dependencies).
 *
 * - data-ingress-rate — 5 series, 1 min, 15 840 points (04-25 → 05-05). Ingress rate into a cloud
 *   service; "prominent dips indicate service disruption". Labels:
 *   · 04-27 21:32 → 04-28 02:25 and 04-30 21:56 → 23:08: labelled on 01, 04, 05 simultaneously; the
 *     dip also hits ingress-03 (rate falls to 26 % and 15 % of before) although 03 is labelled
 *     all-normal, and 02 is still ≈0 then — so these are common-mode, all-active-peers events;
 *   · single-peer blips: 05 at 04-26 10:45 and 05-03 10:45 (1–2 min), 04 at 04-29 17:31 (2 min),
 *     02 at 05-01 23:20 (its traffic coming online: 0 → 38 k) and 05-05 10:24.
 *   ingress-02 is 63 % zeros (a "new scenario coming online" series); ingress-03 has no labels.
 *
 * - mongodb-application-rps — 4 series, 1 min, 15 840 points (04-25 → 05-05). Query rate to one
 *   MongoDB cluster by application scenario; 01 and 04 all-normal ("intermittent spikes are normal").
 *   Labels: mongo-02 04-27 16:56–17:01 (5 min) — but all four peers dip by a similar 22–33 % then;
 *   mongo-03 05-01 04:39 → 22:50 (a level shift, ×1.9) — peers rise too (×1.2–1.5). Labels sit
 *   on one peer, yet the movement is largely shared: a weak peer-localisation case (only the
 *   magnitude singles the labelled peer out).
 *
 * - consumer-purchase-rate — 6 series, 1 h, 1 248 points (03-15 → 05-05). In-app purchases per
 *   market; purchase-01 all-normal (spiky but low volume). 14 events: 03-16 on 02+03+04 together;
 *   03-27/28 on 05+06; the rest single-series (05 ×7, 02 ×4, 04 ×1).
 *
 * - application-crash-rate-1 — 9 series, 1 h, 697 hours (06-19 → 07-18; app1-01 starts 07-03 14:00,
 *   app1-09 07-11 01:00). Crash rate by OS version / country. 31 events; 07-17 05:00 → 07-18 on ALL 9;
 *   several 3–5-series events; many single-series ones (mostly app1-05 and app1-04).
 * - application-crash-rate-2 — 10 series, 1 h, 1 105 hours (05-10 → 06-25), no notes. 38 events;
 *   06-23 20:00 → 06-25 on ALL 10; 05-10/11 on 5; single-series ones mostly on 05 and 07.
 *   Data quirks of both crash-rate groups: exact duplicate rows (the same hour twice, 8–13 per file;
 *   the loader keeps one), empty Value cells in app1-04/05/06 (5/11/26 rows, two of them labelled;
 *   loaded as NaN) and missing hours in app2-01/02/06/07/10 (up to 23 in app2-10).
 *
 * - ecommerce-api-incoming-rps — 1 series, 1 h, 6 191 points (2017-11-01 → 2018-07-16), 19 labelled
 *   elevated-traffic events, one duplicate row and one missing hour.
 * - mongodb-machine-rps — 1 series, 1 min, 20 160 points (06-13 → 06-26), 25 short events (many
 *   just after midnight daily: precursor patterns).
 * - service-unavailable — 1 series, 1 min, 15 840 points, no labels (isolated errors are not alarms).
 *
 * Summary for cross-stack (peer) localisation: middle-tier-api-dependency-latency is the good
 * group (many events on one dependency — or a small subset — with the others normal, plus one
 * global event); consumer-purchase-rate and the crash-rate groups also have single-series events.
 * data-ingress-rate's big labelled dips are on all active peers at once (with 03 unlabelled but
 * dipping); mongodb-application-rps labels one peer while peers move together.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseSeriesCsv } from './csv-series.js';
import { sharedDataDir } from './data-dir.js';

export const MS_CLOUD_DIR = join(sharedDataDir(), 'ms-cloud-monitoring', 'data');

/** Groups with several aligned peer series (see the module comment). */
export const MS_CLOUD_PEER_GROUPS = [
  'middle-tier-api-dependency-latency',
  'data-ingress-rate',
  'mongodb-application-rps',
  'consumer-purchase-rate',
  'application-crash-rate-1',
  'application-crash-rate-2',
] as const;

export interface MsCloudRow {
  ts: number;
  /** NaN where the file has an empty Value cell (a missing sample; some are labelled). */
  value: number;
  /** 1 = labelled anomalous, 0 = normal. */
  label: number;
}

export interface MsCloudSeries {
  /** File name without `.csv`, e.g. `outbound-02`. */
  name: string;
  /** Sorted by time, one row per timestamp. */
  rows: MsCloudRow[];
  /** The CSVW metadata `notes`, joined; absent when the file has none. */
  notes?: string;
  /** Rows dropped because their timestamp repeated an earlier row (first non-NaN value kept, labels OR-ed). */
  duplicatesDropped: number;
  /** Rows the CSV parser rejected (0 for this dataset). */
  rejects: number;
}

export interface MsCloudGroup {
  group: string;
  series: MsCloudSeries[];
}

/** Group folder names present under `dataDir`. */
export function listMsCloudGroups(dataDir: string = MS_CLOUD_DIR): string[] {
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Sort by time and collapse repeated timestamps (first non-NaN value kept, labels OR-ed). Pure. */
export function dedupeRows(rows: readonly MsCloudRow[]): { rows: MsCloudRow[]; dropped: number } {
  const sorted = rows.map((r, i) => ({ r, i })).sort((a, b) => a.r.ts - b.r.ts || a.i - b.i);
  const out: MsCloudRow[] = [];
  for (const { r } of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.ts === r.ts) {
      last.label = Math.max(last.label, r.label);
      if (Number.isNaN(last.value)) last.value = r.value;
      continue;
    }
    out.push({ ts: r.ts, value: r.value, label: r.label });
  }
  return { rows: out, dropped: rows.length - out.length };
}

function readNotes(csvPath: string): string | undefined {
  const metaPath = `${csvPath}-metadata.json`;
  if (!existsSync(metaPath)) return undefined;
  try {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { notes?: unknown; 'schema:description'?: unknown };
    const parts: string[] = [];
    const desc = meta['schema:description'];
    if (typeof desc === 'string' && desc.trim() !== '') parts.push(desc.trim());
    if (Array.isArray(meta.notes)) for (const n of meta.notes) if (typeof n === 'string' && n.trim() !== '') parts.push(n.trim());
    return parts.length > 0 ? parts.join(' ') : undefined;
  } catch {
    return undefined;
  }
}

/** Load every `<group>/*.csv` (sorted by name) with its metadata notes. */
export function loadMsCloudGroup(group: string, dataDir: string = MS_CLOUD_DIR): MsCloudGroup {
  const dir = join(dataDir, group);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort();
  const series: MsCloudSeries[] = files.map((f) => {
    const path = join(dir, f);
    const parsed = parseSeriesCsv(readFileSync(path, 'utf8'), { allowMissingValue: true });
    const { rows, dropped } = dedupeRows(parsed.rows.map((r) => ({ ts: r.ts, value: r.value, label: r.label ?? 0 })));
    const s: MsCloudSeries = { name: f.slice(0, -4), rows, duplicatesDropped: dropped, rejects: parsed.rejects.length };
    const notes = readNotes(path);
    if (notes !== undefined) s.notes = notes;
    return s;
  });
  return { group, series };
}

export interface AlignedGroup {
  /** Union of all series' timestamps, ascending. */
  timestamps: number[];
  /** Series names, in input order. */
  names: string[];
  /** `values[s][i]`: value of series s at timestamps[i], NaN where the series has no row (or an empty value). */
  values: Float64Array[];
  /** `labels[s][i]`: 1 when labelled anomalous, 0 otherwise (also 0 where missing). */
  labels: Uint8Array[];
}

/** Align series on the union of their timestamps (pure). Duplicate timestamps within a series: last wins. */
export function alignGroup(series: readonly { name: string; rows: readonly { ts: number; value: number; label?: number }[] }[]): AlignedGroup {
  const set = new Set<number>();
  for (const s of series) for (const r of s.rows) set.add(r.ts);
  const timestamps = [...set].sort((a, b) => a - b);
  const index = new Map<number, number>();
  timestamps.forEach((t, i) => {
    index.set(t, i);
  });
  const values = series.map((s) => {
    const v = new Float64Array(timestamps.length).fill(NaN);
    for (const r of s.rows) v[index.get(r.ts)!] = r.value;
    return v;
  });
  const labels = series.map((s) => {
    const l = new Uint8Array(timestamps.length);
    for (const r of s.rows) if (r.label !== undefined && r.label !== 0) l[index.get(r.ts)!] = 1;
    return l;
  });
  return { timestamps, names: series.map((s) => s.name), values, labels };
}

/** Runs of consecutive labelled rows as `[firstTs, lastTs]` (pure; rows assumed time-ordered). */
export function labelSegments(rows: readonly { ts: number; label?: number }[]): [number, number][] {
  const out: [number, number][] = [];
  let start: number | undefined;
  let last: number | undefined;
  for (const r of rows) {
    if (r.label !== undefined && r.label !== 0) {
      if (start === undefined) start = r.ts;
      last = r.ts;
    } else if (start !== undefined) {
      out.push([start, last!]);
      start = undefined;
    }
  }
  if (start !== undefined) out.push([start, last!]);
  return out;
}
