import { createWriteStream } from 'node:fs';
import { formatGateCoverage } from '../core/detection/gate-coverage.js';
import { once } from 'node:events';
import { replayFile } from '../app/replay.js';
import { ProgressBar } from '../report/progress.js';
import { formatDetection } from '../report/timeline.js';
import { formatDecision } from '../report/decision-timeline.js';
import type { Pipeline, PipelineOutput } from '../pipeline/pipeline.js';
import { FileAuditLog } from '../adapters/file/audit-log.js';
import { auditKind } from '../report/audit-kind.js';
import { complain, EXIT, loadConfigOrReport, usageError, type Command } from './command.js';
import { chooseConfidence } from './confidence.js';
import { unreadable, unwritable } from './paths.js';
import { DecisionTally } from './replay-tally.js';
import { spoolStdin } from './stdin.js';
import { ReportCollector } from '../report/incident-report.js';
import { writeFileSync } from 'node:fs';

/** Invalid lines printed as they are found; the rest are counted (and all go to --rejects). */
const INVALID_SHOWN = 5;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a JSONL file of samples and context events in event time',
  usage: `Usage: harbinger replay <input.jsonl[.gz] | -> [options]

Replays samples and context events (one JSON object per line) through the pipeline in event time
and prints a readable timeline plus a summary: what was read and rejected, what was detected, and
what serve would have decided (incidents, recommendations by action and status, mitigations).
Two replays of the same input give identical output. '-' reads standard input.

It decides with the confidence model serve would use with the same configuration
(server.confidenceModel and that folder's selection.json), unless --model says otherwise.
Exit status: 0 when at least one line was valid (rejected lines are counted in the summary), 1 when
none was, 2 on a usage error (a missing input, an output that cannot be written, a bad config).

Options:
  --config <file>    YAML or JSON configuration (defaults are used without one)
  --out <file>       write every output event as JSONL
  --rejects <file>   write invalid or late lines as JSONL with line number and reason
  --quiet            print only the summary, not the timeline
  --health           also write the per-minute stack health events to --out
  --audit <file>     append every decision to a hash-chained audit log (verify with 'harbinger audit verify')
  --report <file>    write the incidents as one self-contained HTML page (charts of each incident's
                     series against its peers, markers, the ITR phases; opens without network)
  --model <m>        decide with 'formula', or a learned model: 'shipped' (models/confidence) or a
                     folder, whatever its selection.json says
  --progress         force the progress bar (default: only on a terminal)
  -h, --help         show this help`,
  options: {
    config: { type: 'string' },
    out: { type: 'string' },
    rejects: { type: 'string' },
    quiet: { type: 'boolean' },
    health: { type: 'boolean' },
    audit: { type: 'string' },
    report: { type: 'string' },
    progress: { type: 'boolean' },
    model: { type: 'string' },
  },
  maxPositionals: 1,
  async run(values, positionals) {
    const arg = positionals[0];
    if (arg === undefined) {
      return usageError(this.name, "missing <input.jsonl> (or '-' for standard input)");
    }
    const fromStdin = arg === '-';
    const label = fromStdin ? '<stdin>' : arg;
    const unread = fromStdin ? undefined : unreadable(arg, 'file');
    if (unread !== undefined) return complain(this.name, `${arg}: ${unread}`, EXIT.usage);
    // Outputs are checked before the replay: a typo must not cost a whole replay, nor end in a stack trace.
    for (const flag of ['out', 'rejects', 'audit', 'report']) {
      const path = values[flag] as string | undefined;
      const problem = path === undefined ? undefined : unwritable(path);
      if (problem !== undefined) return complain(this.name, `--${flag} ${path}: ${problem}`, EXIT.usage);
    }
    const config = loadConfigOrReport(values['config'] as string | undefined, this.name);
    if (config === undefined) return EXIT.usage;
    const confidence = await chooseConfidence(config, values['model'] as string | undefined, this.name);
    if (confidence === null) return EXIT.usage;
    let audit: FileAuditLog | undefined;
    try {
      audit = values['audit'] !== undefined ? new FileAuditLog(values['audit'] as string) : undefined;
    } catch (e) {
      // An existing log that fails verification is refused, as serve refuses it.
      return complain(this.name, `--audit: ${(e as Error).message}`, EXIT.usage);
    }
    const input = fromStdin ? await spoolStdin() : arg;
    const tally = new DecisionTally();
    const report = values['report'] !== undefined ? new ReportCollector() : undefined;
    const out = values['out'] !== undefined ? createWriteStream(values['out'] as string) : undefined;
    const quiet = values['quiet'] === true;
    const bar = new ProgressBar('replay', values['progress'] === true || process.stderr.isTTY === true);
    let invalidShown = 0;
    /** Gate warnings already printed during the replay (the summary repeats none of them). */
    let earlyWarned = new Set<string>();
    const summary = await replayFile(input, {
      config,
      ...(values['rejects'] !== undefined ? { rejectsPath: values['rejects'] as string } : {}),
      ...(confidence.model !== undefined ? { confidence: confidence.model } : {}),
      ...(report !== undefined ? { onPipeline: (p: Pipeline) => report.attach(p) } : {}),
      onEvent: (e) => {
        tally.add(e);
        report?.onEvent(e);
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
        if (invalidShown++ < INVALID_SHOWN) process.stderr.write(`${label}:${line}: ${reason}\n`);
      },
    }).catch((e: NodeJS.ErrnoException) => {
      // zlib's messages ("incorrect header check") do not say which file, nor that it is about gzip.
      const gzip = e.code?.startsWith('Z_') === true;
      complain(this.name, gzip ? `${label}: not valid gzip (${e.message})` : e.message, EXIT.failed);
      return undefined;
    });
    bar.done();
    if (out !== undefined) {
      out.end();
      await once(out, 'finish');
    }
    if (summary === undefined) return EXIT.failed;
    if (report !== undefined) writeFileSync(values['report'] as string, report.html(label));
    const s = summary.stats;
    const lines = [
      '',
      `Summary of ${label}`,
      `  lines ${summary.lines}, samples ${s.samples}, context events ${s.events}, series ${s.series}`,
      `  invalid ${summary.invalid}, late ${s.late}, conflicting ${s.conflicts}${
        Object.keys(summary.rejectsByReason).length > 0
          ? ` (by reason: ${Object.entries(summary.rejectsByReason)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')})`
          : ''
      }`,
      `  anomalies ${s.emitted.anomaly}, predictions ${s.emitted.prediction}, deltas ${s.emitted.delta}, breaches ${s.emitted.breach}, recoveries ${s.emitted.recovery}`,
      ...tally.lines(),
      `  confidence: ${confidence.label}`,
      ...(report !== undefined ? [`  report: ${values['report'] as string} (open it in a browser; no network needed)`] : []),
      `  ${Math.round(summary.samplesPerSec).toLocaleString('en-US')} samples/s (${(summary.wallMs / 1000).toFixed(2)} s wall)`,
    ];
    const d = summary.decisionDelay;
    if (d !== undefined)
      lines.push(
        `  decision delay: recommendations came out once the input had reached ${d.medianMs / 1000} s past their stamp (median of ${d.recommendations}, max ${d.maxMs / 1000} s); a live feed's leads are that much shorter (detection.eventTime.allowedLatenessSeconds plus up to one step)`,
      );
    lines.push('  SLO gates (what each metric is judged by):', ...formatGateCoverage(summary.gates));
    process.stdout.write(`${lines.join('\n')}\n`);
    for (const w of summary.gates.warnings) if (!earlyWarned.has(w.message)) process.stderr.write(`warning: ${w.message}\n`);
    if (summary.invalid > INVALID_SHOWN)
      process.stderr.write(`${label}: ${summary.invalid - INVALID_SHOWN} more invalid lines not shown (--rejects <file> writes every one)\n`);
    // Nothing usable read is a failure, not an empty success: a wrong file or format must not pass for a quiet day.
    if (summary.lines === summary.invalid)
      return complain(this.name, `no valid line in ${label} (${summary.lines === 0 ? 'it is empty' : `all ${summary.lines} lines rejected`})`, EXIT.failed);
    return EXIT.ok;
  },
};

function formatOutput(e: PipelineOutput): string | undefined {
  return e.type === 'recommendation' || e.type === 'incident' || e.type === 'outcome' ? formatDecision(e) : formatDetection(e);
}
