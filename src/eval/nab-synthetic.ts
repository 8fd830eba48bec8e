/**
 * Why this file: the NAB categories the single-series scorer is judged on (AWS CloudWatch, known
 * causes, traffic) are not on this machine, and the dev categories hold no slow drift, no change of
 * variance and no weekly season. This is a small, seeded, deterministic corpus of such shapes with
 * NAB-style windows (10 % of the file's rows shared equally among its anomalies, each window
 * centred on the anomaly's first point), to be scored with the same NAB rules ({@link
 * optimizeThreshold}) as a sanity check that finds failure modes. It is NOT a tuning target: the
 * shapes are guesses, and a constant chosen on them would be fitted to the guesses.
 */
import type { NabCorpusFile } from './nab-corpus.js';
import { seededUniform } from '../core/math/seeded-uniform.js';
import { MS_PER_MIN as MIN } from '../core/time-units.js';

/** Standard normal draws from a uniform source (Box-Muller). */
export function seededGauss(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const T0 = Date.UTC(2024, 0, 1);

interface Shape {
  name: string;
  n: number;
  stepMin: number;
  /** Anomaly starts (row indices); each gets a window. Empty: a file without anomalies. */
  anomalies: number[];
  value: (i: number, g: () => number, u: () => number) => number;
}

const q = (x: number, quantum: number): number => Math.round(x / quantum) * quantum;

/** The shapes, each a guess at a kind of series the held-out NAB categories hold. */
function shapes(): Shape[] {
  const day5 = 288; // 5-minute points per day
  let walk = 0;
  let ar = 0;
  return [
    // Slow drift on white noise: 0.02 per point on sigma-1 noise, from row 2500 on.
    { name: 'drift/linear_drift', n: 4000, stepMin: 5, anomalies: [2500], value: (i, g) => 10 + g() + (i >= 2500 ? 0.02 * (i - 2500) : 0) },
    // Machine-temperature-like: a persistent wandering level, then a slow decline before a failure drop.
    {
      name: 'drift/temperature_failure',
      n: 6000,
      stepMin: 5,
      anomalies: [4200, 5200],
      value: (i, g) => {
        if (i === 0) ar = 0;
        ar = 0.98 * ar + 0.3 * g();
        const decline = i >= 4200 && i < 4700 ? -0.03 * (i - 4200) : i >= 4700 && i < 5200 ? -15 : 0;
        const drop = i >= 5200 && i < 5300 ? -40 : 0;
        return 85 + 3 * Math.sin((2 * Math.PI * i) / day5) + ar + 0.3 * g() + decline + drop;
      },
    },
    // CPU of an autoscaling group: a quantized noisy level that ramps up over a day before the anomaly.
    {
      name: 'aws/cpu_ramp',
      n: 4032,
      stepMin: 5,
      anomalies: [3000],
      value: (i, g) => q(Math.max(0, 20 + 2 * g() + (i >= 2700 ? Math.min(30, 0.1 * (i - 2700)) : 0)), 0.5),
    },
    // Flat quantized CPU with sparse normal spikes; anomaly: a sustained level shift.
    {
      name: 'aws/flat_level_shift',
      n: 4032,
      stepMin: 5,
      anomalies: [2800],
      value: (i, g, u) => q(2 + 0.1 * g() + (u() < 0.004 ? 3 + 3 * u() : 0) + (i >= 2800 ? 2 : 0), 0.066),
    },
    // Network in: heavy-tailed bursts; anomaly: a collapse to near zero for a while.
    {
      name: 'aws/network_collapse',
      n: 4032,
      stepMin: 5,
      anomalies: [3200],
      value: (i, g, u) => Math.max(0, (i >= 3200 && i < 3350 ? 0.05 : 1) * (5e6 * Math.exp(0.4 * g()) + (u() < 0.01 ? 3e7 * u() : 0))),
    },
    // Disk writes: variance triples from row 2600 on, same mean.
    { name: 'aws/variance_change', n: 4032, stepMin: 5, anomalies: [2600], value: (i, g) => 100 + (i >= 2600 ? 15 : 5) * g() },
    // Request count with two isolated large spikes.
    {
      name: 'aws/request_spikes',
      n: 4032,
      stepMin: 5,
      anomalies: [1500, 3300],
      value: (i, g) => Math.round(Math.max(0, 40 + 10 * Math.sin((2 * Math.PI * i) / day5) + 4 * g() + (i === 1500 || i === 3300 ? 120 : 0))),
    },
    // Taxi-like: daily + weekly season at 30 minutes; anomalies: a quiet (holiday) day and a surge.
    {
      name: 'seasonal/weekly_taxi',
      n: 48 * 7 * 12,
      stepMin: 30,
      anomalies: [48 * 7 * 8 + 2 * 48, 48 * 7 * 10 + 5 * 48 + 20],
      value: (i, g) => {
        const d = Math.floor(i / 48) % 7;
        const h = (i % 48) / 2;
        const weekend = d >= 5 ? 0.7 : 1;
        const daily = Math.max(0, Math.sin((Math.PI * (h - 5)) / 19)) * 20000 * weekend + 3000;
        const holiday = i >= 48 * 7 * 8 + 2 * 48 && i < 48 * 7 * 8 + 3 * 48 ? 0.5 : 1;
        const surge = i >= 48 * 7 * 10 + 5 * 48 + 20 && i < 48 * 7 * 10 + 5 * 48 + 28 ? 1.6 : 1;
        return daily * holiday * surge + 600 * g();
      },
    },
    // Hourly ambient temperature: daily cycle on a random-walk level; anomaly: a cold spell.
    {
      name: 'seasonal/ambient_cold_spell',
      n: 24 * 200,
      stepMin: 60,
      anomalies: [24 * 150],
      value: (i, g) => {
        if (i === 0) walk = 0;
        walk += 0.05 * g();
        return 70 + walk + 2 * Math.sin((2 * Math.PI * i) / 24) + 0.5 * g() + (i >= 24 * 150 && i < 24 * 153 ? -8 : 0);
      },
    },
    // Traffic occupancy: daily rush hours, quantized; anomaly: sustained congestion.
    {
      name: 'traffic/occupancy_jam',
      n: 2500,
      stepMin: 5,
      anomalies: [1900],
      value: (i, g) => {
        const h = ((i % day5) / day5) * 24;
        const rush = Math.exp(-((h - 8) ** 2) / 2) * 15 + Math.exp(-((h - 17) ** 2) / 2) * 12;
        return Math.max(0, q(5 + rush + 1.5 * g() + (i >= 1900 && i < 1980 ? 25 : 0), 1));
      },
    },
    // No anomaly: a random walk with noise (false positives only).
    {
      name: 'none/random_walk',
      n: 4032,
      stepMin: 5,
      anomalies: [],
      value: (i, g) => {
        if (i === 0) walk = 0;
        walk += 0.1 * g();
        return 50 + walk + g();
      },
    },
    // No anomaly: quantized flat series with sparse normal spikes.
    { name: 'none/flat_spiky', n: 4032, stepMin: 5, anomalies: [], value: (_i, g, u) => q(1 + 0.05 * g() + (u() < 0.01 ? 2 * u() : 0), 0.1) },
  ];
}

/** The synthetic held-out-like corpus (deterministic for a seed). */
export function syntheticNabCorpus(seed = 1): NabCorpusFile[] {
  return shapes().map((s, k) => {
    const u = seededUniform(seed * 1000 + k);
    const g = seededGauss(u);
    const rows = Array.from({ length: s.n }, (_, i) => ({ ts: T0 + i * s.stepMin * MIN, value: s.value(i, g, u) }));
    const timestamps = rows.map((r) => r.ts);
    const width = s.anomalies.length > 0 ? Math.floor((0.1 * s.n) / s.anomalies.length) : 0;
    const windows = s.anomalies.map((a): [number, number] => {
      const left = Math.max(0, a - Math.floor(width / 2));
      const right = Math.min(s.n - 1, left + width - 1);
      return [timestamps[left]!, timestamps[right]!];
    });
    return { name: `${s.name}.csv`, category: s.name.slice(0, s.name.indexOf('/')), rows, timestamps, windows, rejects: 0 };
  });
}
