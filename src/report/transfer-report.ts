import type { TransferEvaluation } from '../eval/nab-transfer.js';
import { textTable } from './text-table.js';

const num = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(1));

/** The transfer figures as text: one row per profile, Harbinger beside the windowed Gaussian. */
export function transferReport(t: TransferEvaluation): string[] {
  const rows = [['profile', 'Harbinger: threshold / NAB dev / transfer', 'windows detected/missed, fp rows', 'windowed Gaussian: NAB dev / transfer']];
  for (const [name, p] of Object.entries(t.profiles)) {
    const h = p.harbinger;
    const g = p.windowedGaussian;
    rows.push([
      name,
      `${h.threshold.toFixed(4)} / ${num(h.source)} / ${num(h.target)}`,
      `${h.detectedWindows}/${h.missedWindows}, ${h.fp}`,
      `${num(g.source)} / ${num(g.target)}`,
    ]);
  }
  const cats = Object.entries(t.profiles.standard.byCategory).map(([c, s]) => `${c} ${Number.isNaN(s.normalized) ? `fp=${s.fp}` : num(s.normalized)}`);
  return [
    `Transfer: threshold chosen on NAB dev (${t.sourceFiles} files), scored on the Microsoft cloud monitoring set (${t.targetFiles} series, ${t.targetWindows} windows)`,
    textTable(rows),
    `standard, by group: ${cats.join('; ')}`,
  ];
}
