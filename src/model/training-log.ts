import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { logFiles, type RotationPolicy } from '../adapters/file/rotated-files.js';
import { appendRotating } from '../adapters/file/rotating-append.js';
import type { OutcomeEvent, Recommendation } from '../domain/decision.js';
import type { LabeledSample } from './dataset.js';

/**
 * The training log: recorded operator decisions on recommendations, one JSON object per line
 * (JSONL, append-only), each with the evidence bundle the confidence was computed from:
 *
 *   {"v":1,"ts":"2026-03-09T05:49:00.000Z","decision":"reject","recommendationId":"inc-12-r1",
 *    "incidentId":"inc-12","service":"checkout","stack":"us-east-1","action":"shift_traffic",
 *    "confidence":0.675,"by":"alice","reason":"load test","evidence":{...ConfidenceEvidence}}
 *
 * decision: 'approve' | 'reject' (a human's verdict before execution) or 'effective' | 'ineffective'
 * (post-action validation). Label: approve and effective → 1 (a mitigation was right), reject and
 * ineffective → 0. Several entries for one recommendation: a validation outcome overrides an approval
 * verdict (what happened beats what was expected), otherwise the latest wins. `weight` (optional)
 * overrides the trainer's operator weight for that entry.
 *
 * The log stores raw evidence, not feature vectors: a new FEATURE_VERSION re-featurizes old decisions.
 * It may be rotated by size (`server.logs.trainingLog`): reading `training-log.jsonl` reads its
 * rotated files first (`training-log.jsonl.000001`, ...), oldest first, so no label is lost.
 */

export const TRAINING_LOG_VERSION = 1;

const evidenceSchema = z
  .object({
    persistence: z.number(),
    magnitude: z.number(),
    separation: z.number(),
    businessImpact: z.number(),
    correlation: z.number(),
    dataCompleteness: z.number(),
    minutesToBreach: z.number().nullable(),
    magnitudes: z.record(z.string(), z.number()).optional(),
    signals: z.array(z.string()).optional(),
    causeKind: z.string().optional(),
    shareGain: z.number().optional(),
    trafficShare: z.number().optional(),
    peers: z.number().optional(),
    hourOfDay: z.number().optional(),
  })
  .loose();

export const trainingLogEntrySchema = z.object({
  v: z.literal(1),
  ts: z.string(),
  decision: z.enum(['approve', 'reject', 'effective', 'ineffective']),
  recommendationId: z.string().optional(),
  incidentId: z.string().optional(),
  service: z.string().optional(),
  stack: z.string().optional(),
  action: z.string().optional(),
  confidence: z.number().optional(),
  by: z.string().optional(),
  reason: z.string().optional(),
  weight: z.number().positive().optional(),
  evidence: evidenceSchema,
});

export type TrainingLogEntry = z.infer<typeof trainingLogEntrySchema>;
export type OperatorDecision = TrainingLogEntry['decision'];

/** Appends one entry (validated) to the JSONL log, creating the file and its folder if needed, rotating it when full. */
export function appendTrainingLog(path: string, entry: TrainingLogEntry, rotation?: RotationPolicy): void {
  const parsed = trainingLogEntrySchema.parse(entry);
  appendRotating(path, JSON.stringify(parsed), rotation);
}

/** The log entry for a decision on a recommendation. */
export function trainingLogEntry(
  rec: Recommendation,
  decision: OperatorDecision,
  opts: { ts?: number; by?: string; reason?: string; weight?: number } = {},
): TrainingLogEntry {
  return {
    v: 1,
    ts: new Date(opts.ts ?? rec.ts).toISOString(),
    decision,
    recommendationId: rec.id,
    incidentId: rec.incidentId,
    service: rec.service,
    stack: rec.stack,
    action: rec.action,
    confidence: rec.confidence,
    ...(opts.by !== undefined ? { by: opts.by } : {}),
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    ...(opts.weight !== undefined ? { weight: opts.weight } : {}),
    evidence: rec.evidence as TrainingLogEntry['evidence'],
  };
}

/**
 * The log entry for a workflow outcome (approved, rejected, effective, ineffective), or undefined for
 * outcomes that say nothing about whether the mitigation was right (executed, expired).
 */
export function trainingLogEntryFromOutcome(rec: Recommendation, o: OutcomeEvent): TrainingLogEntry | undefined {
  const map: Partial<Record<OutcomeEvent['outcome'], OperatorDecision>> = {
    approved: 'approve',
    rejected: 'reject',
    effective: 'effective',
    ineffective: 'ineffective',
  };
  const decision = map[o.outcome];
  if (decision === undefined) return undefined;
  return trainingLogEntry(rec, decision, { ts: o.ts, ...(o.by !== undefined ? { by: o.by } : {}), reason: o.reason });
}

export class TrainingLogError extends Error {
  override name = 'TrainingLogError';
}

/** Reads and validates a training log with its rotated files, oldest first; a bad line is an error with its file and line number. */
export function readTrainingLog(path: string): TrainingLogEntry[] {
  const files = logFiles(path);
  // A path that does not exist (and has no rotated files) is read to get the usual error.
  return (files.length > 0 || existsSync(path) ? files : [path]).flatMap(readOneFile);
}

function readOneFile(path: string): TrainingLogEntry[] {
  const out: TrainingLogEntry[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new TrainingLogError(`${path}:${i + 1}: invalid JSON: ${(e as Error).message}`);
    }
    const parsed = trainingLogEntrySchema.safeParse(raw);
    if (!parsed.success)
      throw new TrainingLogError(`${path}:${i + 1}: ${parsed.error.issues.map((x) => `${x.path.join('.') || '(entry)'}: ${x.message}`).join('; ')}`);
    out.push(parsed.data);
  }
  return out;
}

const LABEL: Record<OperatorDecision, 0 | 1> = { approve: 1, effective: 1, reject: 0, ineffective: 0 };
const IS_VALIDATION: Record<OperatorDecision, boolean> = { approve: false, reject: false, effective: true, ineffective: true };

/** Training samples from log entries: one per recommendation (see the override rule above), or per entry without an id. */
export function samplesFromLog(entries: readonly TrainingLogEntry[], operatorWeight: number): LabeledSample[] {
  const byRec = new Map<string, TrainingLogEntry>();
  const loose: TrainingLogEntry[] = [];
  for (const e of entries) {
    if (e.recommendationId === undefined) {
      loose.push(e);
      continue;
    }
    const prev = byRec.get(e.recommendationId);
    if (prev === undefined || IS_VALIDATION[e.decision] || !IS_VALIDATION[prev.decision]) byRec.set(e.recommendationId, e);
  }
  return [...byRec.values(), ...loose].map((e) => ({
    evidence: e.evidence as LabeledSample['evidence'],
    label: LABEL[e.decision],
    weight: e.weight ?? operatorWeight,
    source: 'operator' as const,
    ref: `${e.decision} ${e.recommendationId ?? ''} ${e.stack ?? ''} ${e.action ?? ''} ${e.ts}`.replace(/\s+/g, ' ').trim(),
  }));
}
