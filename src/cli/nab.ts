import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, loadConfigOrReport, type Command } from './command.js';
import { NAB_PROFILES, type NabProfileName } from '../eval/nab.js';
import { loadNabCorpus, NAB_DEV_DIR } from '../eval/nab-corpus.js';
import { loadMsCloudAsNab } from '../eval/ms-cloud-nab.js';
import { MS_CLOUD_DIR } from '../eval/ms-cloud.js';
import { evaluateTransfer } from '../eval/nab-transfer.js';
import { transferReport } from '../report/transfer-report.js';
import { evaluateNab } from '../eval/nab-eval.js';
import { evaluateNabLoco, LOCO_GRID } from '../eval/nab-loco.js';
import { DEFAULT_SCORER_OPTIONS, DRIFT_OPTIONS, type SeriesScorerOptions } from '../core/score/series-scorer.js';

/** Only the options that differ from the shipped defaults, as `name=value` (or "defaults"). */
function describeOptions(o: SeriesScorerOptions): string {
  const diff = (Object.keys(o) as (keyof SeriesScorerOptions)[]).filter((k) => o[k] !== DEFAULT_SCORER_OPTIONS[k]).map((k) => `${k}=${o[k]}`);
  return diff.length === 0 ? 'defaults' : diff.join(' ');
}

const fmt = (x: number): string => (Number.isNaN(x) ? '—' : x.toFixed(1));

export const nabCommand: Command = {
  name: 'nab',
  summary: "score a NAB-layout corpus with `harbinger score`'s scorer (NAB rules; --loco: leave one category out)",
  usage: `Usage: harbinger nab [<nab-dir>] [options]

Scores every labelled file of a NAB-layout corpus (data/<category>/*.csv, labels/combined_windows.json;
default ${NAB_DEV_DIR}) with the single-series scorer and NAB's scoring rules, one corpus-wide
threshold per profile, and prints the normalized score overall and per category.

Options:
  --loco        also run leave-one-category-out: for each category, the scorer's constants (from a
                grid of ${LOCO_GRID.length} candidates) and the threshold are chosen on the other categories and
                the left-out one is scored with them
  --transfer    also score the Microsoft cloud monitoring set (${MS_CLOUD_DIR}) at the
                threshold chosen on this corpus, beside NAB's windowed-Gaussian baseline taken
                through the same steps (windows from the experts' labels by NAB's rule)
  --drift       score with the slow-drift mode (as \`harbinger score --drift\`); the LOCO grid's
                entries apply on top of it
  --config <f>  YAML or JSON configuration (the 'detection' section applies)
  --json        print the results as JSON
  -h, --help    show this help`,
  options: { loco: { type: 'boolean' }, transfer: { type: 'boolean' }, drift: { type: 'boolean' }, config: { type: 'string' }, json: { type: 'boolean' } },
  maxPositionals: 1,
  async run(values, positionals) {
    const dir = positionals[0] ?? NAB_DEV_DIR;
    if (!existsSync(join(dir, 'labels', 'combined_windows.json'))) {
      process.stderr.write(`harbinger nab: no NAB corpus in ${dir} (labels/combined_windows.json missing)\n`);
      return EXIT.usage;
    }
    const config = loadConfigOrReport(values['config'] as string | undefined, this.name);
    if (config === undefined) return EXIT.usage;
    const base: Partial<SeriesScorerOptions> = values['drift'] === true ? DRIFT_OPTIONS : {};
    const plain = evaluateNab(config.detection, dir, base);
    const loco = values['loco'] === true ? evaluateNabLoco(config.detection, dir, LOCO_GRID, undefined, base) : undefined;
    let transfer: ReturnType<typeof evaluateTransfer> | undefined;
    if (values['transfer'] === true) {
      if (!existsSync(MS_CLOUD_DIR)) {
        process.stderr.write(`harbinger nab: --transfer needs the Microsoft cloud monitoring set in ${MS_CLOUD_DIR}\n`);
        return EXIT.usage;
      }
      transfer = evaluateTransfer(config.detection, loadNabCorpus(dir), loadMsCloudAsNab(MS_CLOUD_DIR), base);
    }
    if (values['json'] === true) {
      process.stdout.write(
        `${JSON.stringify({ plain, loco, transfer }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`,
      );
      return EXIT.ok;
    }
    const out: string[] = [];
    const cats = Object.keys(plain.profiles.standard.byCategory).sort();
    out.push(`NAB, ${plain.files} files, one corpus-wide threshold per profile (shipped constants${values['drift'] === true ? ', slow-drift mode' : ''})`);
    out.push(['profile', 'threshold', 'all', ...cats].join('\t'));
    for (const name of Object.keys(NAB_PROFILES) as NabProfileName[]) {
      const p = plain.profiles[name];
      out.push(
        [
          name,
          p.threshold.toFixed(4),
          fmt(p.normalized),
          ...cats.map((c) => {
            const s = p.byCategory[c]!;
            return Number.isNaN(s.normalized) ? `fp=${s.fp}` : fmt(s.normalized);
          }),
        ].join('\t'),
      );
    }
    if (loco !== undefined) {
      for (const [kind, list] of [
        ['shipped constants, threshold chosen on the others', loco.fixed],
        ['constants and threshold chosen on the others', loco.grid],
      ] as const)
        for (const l of list) {
          out.push('');
          out.push(
            `leave-one-category-out (${kind}), ${l.profile}: pooled ${fmt(l.pooledNormalized)}, mean over categories with windows ${fmt(l.meanNormalized)}`,
          );
          out.push(
            ['left out', 'files', 'windows', 'constants chosen on the others', 'threshold', 'others', 'left out', 'detected/missed', 'fp rows'].join('\t'),
          );
          for (const f of l.folds)
            out.push(
              [
                f.category,
                f.files,
                f.windows,
                describeOptions(f.options),
                f.threshold.toFixed(4),
                fmt(f.trainNormalized),
                fmt(f.normalized),
                `${f.detectedWindows}/${f.missedWindows}`,
                f.fp,
              ].join('\t'),
            );
        }
    }
    if (transfer !== undefined) out.push('', ...transferReport(transfer));
    process.stdout.write(`${out.join('\n')}\n`);
    return EXIT.ok;
  },
};
