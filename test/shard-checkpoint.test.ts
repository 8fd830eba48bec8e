import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { checkpointFromLines, checkpointLines, createShardTask } from '../src/adapters/kafka/shard-task.js';
import { encodeState } from '../src/core/state/json-codec.js';
import { forEachSyntheticSample } from '../src/bench/synthetic.js';
import { readFileSync } from 'node:fs';
import { deciderCheckpointFromLines } from '../src/adapters/kafka/decision-worker.js';
import { LOAD_PROFILE, Pipeline, type StreamedHead } from '../src/pipeline/pipeline.js';
import { parseLine } from '../src/ingest/record-parser.js';
import { decodeState } from '../src/core/state/json-codec.js';

const detection = parseConfig({}).detection;
const deps = { detection, now: 0, maxSeries: Number.POSITIVE_INFINITY };

/** A partition's task fed two hours of 40 series. */
function fedTask() {
  const task = createShardTask(4, undefined, 0n, deps);
  forEachSyntheticSample(40, 120, (s) => void task.engine.offerSample(s));
  task.engine.flush();
  task.seq = 17;
  task.nextOffset = 4800n;
  task.eventsNext.set(0, 3n);
  return task;
}

/** The same task's checkpoint written whole, as version 1 was. */
function wholeCheckpoint(task: ReturnType<typeof fedTask>): string {
  return encodeState({
    version: 1,
    partition: 4,
    nextOffset: '4800',
    seq: 17,
    eventsNext: { '0': '3' },
    time: null,
    floor: null,
    detection: task.engine.snapshot(),
  });
}

describe("a shard's checkpoint as lines", () => {
  it('is a head line, then one line per metric group, and restores as the checkpoint written whole does', () => {
    const task = fedTask();
    const lines = [...checkpointLines(task)];
    const groups = task.engine.snapshot().groups.length;
    expect(groups).toBeGreaterThan(10);
    expect(lines.length).toBe(1 + groups);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    const cp = checkpointFromLines(lines);
    expect(cp).toMatchObject({ version: 2, partition: 4, nextOffset: '4800', seq: 17, eventsNext: { '0': '3' } });
    expect(cp.detection.groups.length).toBe(groups);
    const fromLines = createShardTask(4, cp, 0n, deps);
    // A version-1 checkpoint (one JSON text) is still read, to the same state.
    const fromWhole = createShardTask(4, checkpointFromLines([wholeCheckpoint(task)]), 0n, deps);
    expect(fromWhole.engine.getStats().series).toBe(task.engine.getStats().series);
    expect(encodeState(fromLines.engine.snapshot())).toBe(encodeState(fromWhole.engine.snapshot()));
    expect([fromLines.nextOffset, fromLines.seq, fromLines.eventsNext.get(0)]).toEqual([4800n, 17, 3n]);
  });
});

describe("the decider's checkpoint as lines", () => {
  it("puts the look-ahead's load profiles, one a line after the head, back into the decision snapshot", () => {
    // A pipeline holds the same decision engine the decider runs: a day and a half of the bad-deploy fixture.
    const p = new Pipeline(parseConfig({}), { output: () => {} });
    const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');
    for (const line of lines.slice(0, 12 * 2100)) {
      const r = parseLine(line);
      if (r.ok && r.kind === 'sample') p.offerSample(r.sample);
      else if (r.ok) p.offerEvent(r.event);
    }
    const whole = p.snapshot().decision;
    const head = decodeState<StreamedHead>(p.beginSnapshot());
    const profiles: string[] = [];
    for (let g = p.takeGroups(8); g !== null; g = p.takeGroups(8))
      for (const piece of g) if (piece.startsWith(`{"${LOAD_PROFILE}":`)) profiles.push(piece.slice(LOAD_PROFILE.length + 4, -1));
    expect(profiles.length).toBeGreaterThan(1);
    expect(head.decision.lookahead?.loads).toEqual([]);
    const written = [encodeState({ version: 2, nextOffset: '42', merge: head.merge, decision: head.decision, recommendationsEnd: { '0': '7' } }), ...profiles];
    const cp = deciderCheckpointFromLines(written);
    expect(cp.nextOffset).toBe('42');
    const sorted = (xs: readonly unknown[]): string[] => xs.map((x) => encodeState(x)).sort();
    const canon = (d: typeof whole): string => encodeState({ ...d, lookahead: { ...d.lookahead!, loads: sorted(d.lookahead!.loads) } });
    expect(sorted(cp.decision.lookahead!.loads)).toEqual(sorted(whole.lookahead!.loads));
    expect(canon(cp.decision)).toBe(canon(whole));
    // A version-1 checkpoint, one text with the profiles inside, reads as it is.
    const v1 = deciderCheckpointFromLines([encodeState({ version: 1, nextOffset: '42', merge: head.merge, decision: whole, recommendationsEnd: {} })]);
    expect(sorted(v1.decision.lookahead!.loads)).toEqual(sorted(whole.lookahead!.loads));
  });
});
