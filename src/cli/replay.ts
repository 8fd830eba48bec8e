import { createWriteStream } from 'node:fs';
import { formatGateCoverage } from '../core/detection/gate-coverage.js';
import { once } from 'node:events';
import { replayFile } from '../app/replay.js';
import { ProgressBar } from '../report/progress.js';
import { formatDetection } from '../report/timeline.js';
import { formatDecision } from '../report/decision-timeline.js';
import type { PipelineOutput } from '../pipeline/pipeline.js';
import { FileAuditLog } from '../adapters/file/audit-log.js';
import { auditKind } from '../report/audit-kind.js';
import { loadConfigOrReport, type Command } from './command.js';

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a JSONL file of samples and context events in event time',
  usage: `Usage: harbinger replay <input.jsonl[.gz]> [options]

Replays samples and context events (one JSON object per line) through the pipeline in event time
and prints a readable timeline plus a summary. Two replays of the same input give identical output.

Options:
  --config <file>    YAML or JSON configuration (defaults are used without one)
  --out <file>       write every output event as JSONL
  --rejects <file>   write invalid or late lines as JSONL with line number and reason
  --quiet            print only the summary, not the timeline
  --health           also write the per-minute stack health events to --out
  --audit <file>     append every decision to a hash-chained audit log (verify with 'harbinger audit verify')
  --progress         force the progress bar (default: only on a terminal)
  -h, --help         show this help`,
  options: {
    config: { type: 'string' },
    out: { type: 'string' },
    rejects: { type: 'string' },
    quiet: { type: 'boolean' },
    health: { type: 'boolean' },
    audit: { type: 'string' },
    progress: { type: 'boolean' },
  },
  async run(values, positionals) {
    const input = positionals[0];
    if (input === undefined) {
      process.stderr.write(`harbinger replay: missing <input.jsonl>\n\n${this.usage}\n`);
      return 2;
    }
    const config = loadConfigOrReport(values['config'] as string | undefined);
    if (config === undefined) return 2;
    const audit = values['audit'] !== undefined ? new FileAuditLog(values['audit'] as string) : undefined;
    const out = values['out'] !== undefined ? createWriteStream(values['out'] as string) : undefined;
    const quiet = values['quiet'] === true;
    const bar = new ProgressBar('replay', values['progress'] === true || process.stderr.isTTY === true);
    let invalidShown = 0;
    /** Gate warnings already printed during the replay (the summary repeats none of them). */
    let earlyWarned = new Set<string>();
    const summary = await replayFile(input, {
      config,
      ...(values['rejects'] !== undefined ? { rejectsPath: values['rejects'] as string } : {}),
      onEvent: (e) => {
        if (audit !== undefined && (e.type === 'recommendation' || e.type === 'outcome' || e.type === 'incident'))
          audit.append(e.ts, auditKind(e), 'harbinger', e);
        if (e.type === 'health' && values['health'] !== true) return;
        out?.write(`${JSON.stringify(e)}\n`);
        const line = quiet ? undefined : formatOutput(e);
        if (line !== undefined) process.stdout.write(`${line}\n`);
      },
      onProgress: (done, total) => bar.update(done, total),
      onEarlyGates: (gates) => {
        earlyWarned = new Set(gates.warnings.map((w) => w.message));
        for (const w of gates.warnings) process.stderr.write(`\rwarning: ${w.message}\n`);
      },
      onInvalid: (line, reason) => {
        if (invalidShown++ < 5) process.stderr.write(`${input}:${line}: ${reason}\n`);
      },
    }).catch((e: Error) => {
      process.stderr.write(`harbinger replay: ${e.message}\n`);
      return undefined;
    });
    bar.done();
    if (out !== undefined) {
      out.end();
      await once(out, 'finish');
    }
    if (summary === undefined) return 1;
    const s = summary.stats;
    const lines = [
      '',
      `Summary of ${input}`,
      `  lines ${summary.lines}, samples ${s.samples}, context events ${s.events}, series ${s.series}`,
      `  invalid ${summary.invalid}, late ${s.late}, conflicting ${s.conflicts}${
        Object.keys(summary.rejectsByReason).length > 0
          ? ` (by reason: ${Object.entries(summary.rejectsByReason)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')})`
          : ''
      }`,
      `  anomalies ${s.emitted.anomaly}, predictions ${s.emitted.prediction}, deltas ${s.emitted.delta}, breaches ${s.emitted.breach}, recoveries ${s.emitted.recovery}`,
      `  ${Math.round(summary.samplesPerSec).toLocaleString('en-US')} samples/s (${(summary.wallMs / 1000).toFixed(2)} s wall)`,
    ];
    lines.push('  SLO gates (what each metric is judged by):', ...formatGateCoverage(summary.gates));
    process.stdout.write(`${lines.join('\n')}\n`);
    for (const w of summary.gates.warnings) if (!earlyWarned.has(w.message)) process.stderr.write(`warning: ${w.message}\n`);
    return 0;
  },
};

function formatOutput(e: PipelineOutput): string | undefined {
  return e.type === 'recommendation' || e.type === 'incident' || e.type === 'outcome' ? formatDecision(e) : formatDetection(e);
}
