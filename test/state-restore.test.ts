import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/config/load.js';
import { LOAD_PROFILE, Pipeline, snapshotFromPieces, type PipelineOutput, type PipelineSnapshot, type StreamedHead } from '../src/pipeline/pipeline.js';
import { parseLine } from '../src/ingest/record-parser.js';
import { decodeState, encodeState } from '../src/core/state/json-codec.js';

const config = parseConfig({});
const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');

function feed(p: Pipeline, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const r = parseLine(lines[i]!);
    if (!r.ok) continue;
    if (r.kind === 'sample') p.offerSample(r.sample);
    else p.offerEvent(r.event);
  }
}

function run(cut?: number): string[] {
  const out: string[] = [];
  const sink = { output: (e: PipelineOutput) => void out.push(JSON.stringify(e)) };
  let p = new Pipeline(config, sink);
  if (cut === undefined) feed(p, 0, lines.length);
  else {
    feed(p, 0, cut);
    // Through text, as a checkpoint on disk or on a Kafka topic would be.
    const text = encodeState(p.snapshot());
    p = new Pipeline(config, sink);
    p.restore(decodeState<PipelineSnapshot>(text));
    feed(p, cut, lines.length);
  }
  p.flush();
  return out;
}

describe('checkpoint and restore', () => {
  const full = run();
  // The incident: deploy at 10:01 on day two, rollback recommended at 10:30. Lines are 12 per minute.
  const minute = (hhmm: string, day = 2): number => 1 + ((day - 1) * 1440 + Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * 12;
  it.each([
    ['in the quiet first hours', minute('02:00', 1) + 5],
    ['mid-minute on day two, before the deploy', minute('09:45') + 7],
    ['mid-incident, while the anomaly is confirmed', minute('10:33') + 3],
    ['between the rollback and the validation', minute('10:36') + 11],
  ])('a pipeline restored %s emits exactly what an uninterrupted one does', (_when, cut) => {
    expect(full.some((e) => e.includes('"action":"rollback"'))).toBe(true);
    const resumed = run(cut);
    expect(resumed.length).toBe(full.length);
    expect(resumed).toEqual(full);
  });

  it('a snapshot streamed while the data keeps flowing restores to the state of its start (copy-on-write per group and per load profile)', () => {
    const cut = minute('10:20') + 3;
    const live = new Pipeline(config, { output: () => {} });
    feed(live, 0, cut);
    const atStart = encodeState(live.snapshot());
    const head = live.beginSnapshot();
    // One group per take, and three minutes of data (36 lines) between takes: most groups change
    // before they are written, so what is written must be their copy from the start.
    const groups: string[] = [];
    let at = cut;
    for (let g = live.takeGroups(1); g !== null; g = live.takeGroups(1)) {
      groups.push(...g);
      feed(live, at, at + 36);
      at += 36;
    }
    expect(groups.length).toBeGreaterThan(5);
    // The look-ahead's load profiles come after the groups, wrapped, and are left out of the head.
    const profiles = groups.filter((g) => g.startsWith(`{"${LOAD_PROFILE}":`));
    expect(profiles.length).toBeGreaterThan(1);
    const decodedHead = decodeState<StreamedHead>(head);
    expect(decodedHead.decision.lookahead?.loads).toEqual([]);
    const streamedOut: string[] = [];
    const streamed = new Pipeline(config, { output: (e) => void streamedOut.push(JSON.stringify(e)) });
    streamed.restore(
      snapshotFromPieces(
        decodedHead,
        groups.map((g) => decodeState(g)),
      ),
    );
    const referenceOut: string[] = [];
    const reference = new Pipeline(config, { output: (e) => void referenceOut.push(JSON.stringify(e)) });
    reference.restore(decodeState<PipelineSnapshot>(atStart));
    // Groups and load profiles come back in the order they were written; compare them sorted, and the rest as is.
    const sorted = (xs: readonly unknown[]): string[] => xs.map((x) => encodeState(x)).sort();
    const canon = (snap: PipelineSnapshot): string =>
      encodeState({
        ...snap,
        detection: { ...snap.detection, groups: sorted(snap.detection.groups) },
        decision: { ...snap.decision, lookahead: { ...snap.decision.lookahead!, loads: sorted(snap.decision.lookahead!.loads) } },
      });
    expect(canon(streamed.snapshot())).toBe(canon(reference.snapshot()));
    feed(streamed, cut, lines.length);
    feed(reference, cut, lines.length);
    streamed.flush();
    reference.flush();
    expect(streamedOut.some((e) => e.includes('"action":"rollback"'))).toBe(true);
    expect(streamedOut).toEqual(referenceOut);
  });
});
