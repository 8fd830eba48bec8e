import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logFiles } from '../src/adapters/file/rotated-files.js';
import { feedSink } from '../src/app/sinks/feed-sink.js';
import { parseConfig } from '../src/config/load.js';
import type { DecisionEvent } from '../src/domain/decision.js';
import { appendTrainingLog, readTrainingLog, type TrainingLogEntry } from '../src/model/training-log.js';

// The plain JSON-lines files serve appends to (feed, training log) rotate like the audit log; the
// training log is read back whole, rotated files first, so `train --data` loses no label.

const dir = (): string => mkdtempSync(join(tmpdir(), 'jsonl-rot-'));
const entry = (i: number): TrainingLogEntry => ({
  v: 1,
  ts: new Date(i * 60_000).toISOString(),
  decision: i % 2 === 0 ? 'approve' : 'reject',
  recommendationId: `r${i}`,
  evidence: { persistence: 1, magnitude: 5, separation: 3, businessImpact: 0, correlation: 1, dataCompleteness: 1, minutesToBreach: null },
});

describe('rotation of the JSON-lines logs', () => {
  it('the training log rotates and is read back whole, oldest first', () => {
    const path = join(dir(), 'training-log.jsonl');
    for (let i = 0; i < 40; i++) appendTrainingLog(path, entry(i), { maxFileBytes: 1000, keepFiles: 'all' });
    expect(logFiles(path).length).toBeGreaterThan(5);
    expect(readTrainingLog(path).map((e) => e.recommendationId)).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
  });

  it('the feed keeps keepFiles rotated files and drops the oldest', () => {
    const path = join(dir(), 'recommendations.jsonl');
    const sink = feedSink(path, { maxFileBytes: 300, keepFiles: 2 });
    for (let i = 0; i < 50; i++) sink.decision({ type: 'outcome', recommendationId: `r${i}`, outcome: 'approved', ts: i } as unknown as DecisionEvent);
    const files = logFiles(path);
    expect(files.map((f) => basename(f)).slice(0, 2)).toEqual(expect.arrayContaining([expect.stringMatching(/^recommendations\.jsonl\.\d{6}$/)]));
    expect(files).toHaveLength(3);
    const last = readFileSync(path, 'utf8').trim().split('\n').at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ recommendationId: 'r49' });
  });

  it('config: defaults, and errors that name the field', () => {
    const c = parseConfig({});
    expect(c.server.logs).toEqual({
      audit: { maxFileBytes: 64 * 1_048_576, keepFiles: 'all' },
      feed: { maxFileBytes: 64 * 1_048_576, keepFiles: 5 },
      trainingLog: { maxFileBytes: 64 * 1_048_576, keepFiles: 'all' },
    });
    expect(parseConfig({ server: { logs: { audit: { keepFiles: 10, maxFileBytes: 0 } } } }).server.logs.audit).toEqual({ maxFileBytes: 0, keepFiles: 10 });
    expect(() => parseConfig({ server: { logs: { audit: { keepFiles: 0 } } } })).toThrow(/server\.logs\.audit\.keepFiles/);
    expect(() => parseConfig({ server: { logs: { feed: { maxFileBytes: -1 } } } })).toThrow(/server\.logs\.feed\.maxFileBytes/);
    expect(() => parseConfig({ server: { logs: { audit: { maxBytes: 1 } } } })).toThrow(/server\.logs\.audit.*maxBytes/);
  });
});
