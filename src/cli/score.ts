import { readFileSync, writeFileSync } from 'node:fs';
import { CsvHeaderError, parseSeriesCsv } from '../eval/csv-series.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { DRIFT_OPTIONS, scoreSeries } from '../core/score/series-scorer.js';
import type { Direction } from '../core/detection/point-assessor.js';
import { complain, EXIT, usageError, type Command } from './command.js';
import { unreadable, unwritable } from './paths.js';

export const scoreCommand: Command = {
  name: 'score',
  summary: 'score one CSV time series causally (timestamp,value → anomaly_score in [0,1])',
  usage: `Usage: harbinger score <series.csv> [options]

Scores a single series with the same seasonal baseline and two-stage threshold as the stream
engine. Causal: a row's score uses only earlier rows. Output columns: timestamp,value,anomaly_score.
A score of 0.5 or more marks the onset (or confirmation) of an anomaly episode.

Options:
  --out <file>          write the scored CSV there (default: standard output)
  --direction <d>       which deviations count: both (default), up, down
  --drift               slow-drift mode: also alarm on slow drifts and ramps (more false
                        positives on bursty series; see the README's NAB section)
  --config <file>       YAML or JSON configuration (the 'detection' section applies)
  -h, --help            show this help`,
  options: {
    out: { type: 'string' },
    direction: { type: 'string' },
    drift: { type: 'boolean' },
    config: { type: 'string' },
  },
  maxPositionals: 1,
  async run(values, positionals) {
    const input = positionals[0];
    if (input === undefined) {
      return usageError(this.name, 'missing <series.csv>');
    }
    const unread = unreadable(input, 'file');
    if (unread !== undefined) return complain(this.name, `${input}: ${unread}`, EXIT.usage);
    const outPath = values['out'] as string | undefined;
    const unwrit = outPath === undefined ? undefined : unwritable(outPath);
    if (unwrit !== undefined) return complain(this.name, `--out ${outPath}: ${unwrit}`, EXIT.usage);
    const dirName = (values['direction'] as string | undefined) ?? 'both';
    const direction: Direction | undefined = dirName === 'both' ? 0 : dirName === 'up' ? 1 : dirName === 'down' ? -1 : undefined;
    if (direction === undefined) {
      return complain(this.name, `--direction must be both, up or down (got '${dirName}')`, EXIT.usage);
    }
    let parsed;
    let config;
    try {
      config = loadConfigFile(values['config'] as string | undefined);
      parsed = parseSeriesCsv(readFileSync(input, 'utf8'));
    } catch (e) {
      if (e instanceof ConfigError || e instanceof CsvHeaderError) return complain(this.name, e.message, EXIT.usage);
      return complain(this.name, (e as Error).message, EXIT.failed);
    }
    for (const r of parsed.rejects.slice(0, 5)) process.stderr.write(`${input}:${r.line}: ${r.reason}\n`);
    if (parsed.rejects.length > 5) process.stderr.write(`... ${parsed.rejects.length - 5} more rejected rows\n`);
    const scores = scoreSeries(parsed.rows, config.detection, direction, values['drift'] === true ? DRIFT_OPTIONS : {});
    const out: string[] = ['timestamp,value,anomaly_score'];
    parsed.rows.forEach((r, i) => {
      out.push(`${new Date(r.ts).toISOString()},${r.value},${scores[i]!.toFixed(6)}`);
    });
    const text = `${out.join('\n')}\n`;
    if (outPath !== undefined) writeFileSync(outPath, text);
    else process.stdout.write(text);
    const alarms = scores.reduce((n, s) => n + (s >= 0.5 ? 1 : 0), 0);
    process.stderr.write(`scored ${parsed.rows.length} rows (${parsed.rejects.length} rejected), ${alarms} episode onsets/confirmations\n`);
    return EXIT.ok;
  },
};
