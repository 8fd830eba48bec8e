import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { checkpointFromLines, checkpointLines, createShardTask } from '../src/adapters/kafka/shard-task.js';
import { encodeState } from '../src/core/state/json-codec.js';
import { forEachSyntheticSample } from '../src/bench/synthetic.js';

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
