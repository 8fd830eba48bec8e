/**
 * The Kafka topology without the broker: one DetectionEngine per partition, their numbered output
 * and watermarks interleaved on one "topic", a DetectionMerge and a DecisionEngine behind it. It
 * must decide exactly what the in-process pipeline decides on the same file, whatever the
 * partition count, the batch sizes and the interleaving, and also when shards and the decider
 * crash and resume from checkpoints (re-emitting output the merge has already seen).
 */
import { describe, expect, it } from 'vitest';
import { seededUniform } from '../src/core/math/seeded-uniform.js';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/config/load.js';
import { parseLine } from '../src/ingest/record-parser.js';
import { Pipeline, type PipelineOutput } from '../src/pipeline/pipeline.js';
import { DetectionEngine, type DetectionSnapshot } from '../src/core/detection/detection-engine.js';
import { DetectionMerge, type MergeSnapshot, type ShardOutput } from '../src/core/merge/detection-merge.js';
import { DecisionEngine, type DecisionSnapshot } from '../src/core/decide/decision-engine.js';
import type { ContextEvent, Sample } from '../src/domain/types.js';
import { decodeState, encodeState } from '../src/core/state/json-codec.js';

const config = parseConfig({});
const LATENESS = config.detection.eventTime.allowedLatenessSeconds * 1000;

type Msg = { shard: string; seq: number; item: ShardOutput } | { shard: string; watermark: number };

function load(path: string): (Sample | ContextEvent)[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const r = parseLine(l);
      if (!r.ok) throw new Error(r.reason);
      return r.kind === 'sample' ? r.sample : r.event;
    });
}

function inProcess(records: (Sample | ContextEvent)[]): string[] {
  const out: string[] = [];
  const p = new Pipeline(config, { output: (e: PipelineOutput) => void out.push(JSON.stringify(e)) });
  for (const r of records)
    if ('kind' in r) p.offerEvent(r);
    else p.offerSample(r);
  p.flush();
  return out;
}

/** A seeded PRNG: the same "random" schedule on every run. */
const rng = seededUniform;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface ShardCheckpoint {
  position: number;
  seq: number;
  time: number;
  detection: DetectionSnapshot;
}

class Shard {
  engine!: DetectionEngine;
  seq = 0;
  position = 0;
  time = -Infinity;
  saved: ShardCheckpoint | undefined;
  constructor(
    readonly id: string,
    /** Its partition: every context event and its own samples, in file order. */
    readonly input: (Sample | ContextEvent)[],
    private readonly topic: Msg[],
  ) {
    this.fresh();
  }

  private fresh(): void {
    this.engine = new DetectionEngine(config.detection, { detection: (e) => this.emit(e), context: (e) => this.emit(e) }, true);
  }

  private emit(item: ShardOutput): void {
    // Through text, as on the detections topic.
    this.topic.push(decodeState<Msg>(encodeState({ shard: this.id, seq: ++this.seq, item })));
  }

  /** One fetched batch: offer, move the watermark (newest sample minus lateness), publish it. */
  batch(n: number): void {
    const end = Math.min(this.input.length, this.position + n);
    for (; this.position < end; this.position++) {
      const r = this.input[this.position]!;
      if ('kind' in r) this.engine.offerEvent(r);
      else {
        this.engine.offerSample(r);
        if (r.ts > this.time) this.time = r.ts;
      }
    }
    if (this.time > -Infinity) this.engine.setWatermark(this.time - LATENESS);
    this.topic.push({ shard: this.id, watermark: this.engine.watermark });
  }

  get done(): boolean {
    return this.position >= this.input.length;
  }

  end(): void {
    this.engine.flush();
    this.topic.push({ shard: this.id, watermark: Number.MAX_SAFE_INTEGER });
  }

  checkpoint(): void {
    this.saved = decodeState<ShardCheckpoint>(encodeState({ position: this.position, seq: this.seq, time: this.time, detection: this.engine.snapshot() }));
  }

  /** Crash: everything since the checkpoint is lost and will be redone (and re-emitted). */
  crash(): void {
    this.fresh();
    const cp = this.saved;
    this.position = cp?.position ?? 0;
    this.seq = cp?.seq ?? 0;
    this.time = cp?.time ?? -Infinity;
    if (cp !== undefined) this.engine.restore(cp.detection);
  }
}

class Decider {
  readonly out: string[] = [];
  merge!: DetectionMerge;
  decision!: DecisionEngine;
  offset = 0;
  private saved: { offset: number; outputs: number; merge: MergeSnapshot; decision: DecisionSnapshot } | undefined;
  constructor(private readonly shards: string[]) {
    this.fresh();
  }

  private fresh(): void {
    this.decision = new DecisionEngine(
      config.decision,
      { warnScore: config.detection.threshold.warnScore, horizonMinutes: config.detection.prediction.horizonMinutes },
      { decision: (e) => void this.out.push(JSON.stringify(e)) },
    );
    this.merge = new DetectionMerge(this.shards, {
      detection: (e) => {
        this.out.push(JSON.stringify(e));
        this.decision.onDetection(e);
      },
      context: (e) => this.decision.onContext(e),
    });
  }

  read(topic: Msg[], upTo: number): void {
    for (; this.offset < Math.min(upTo, topic.length); this.offset++) {
      const m = topic[this.offset]!;
      if ('item' in m) this.merge.offer(m.shard, m.seq, m.item);
      else this.merge.advance(m.shard, m.watermark);
    }
  }

  checkpoint(): void {
    this.saved = decodeState<NonNullable<typeof this.saved>>(
      encodeState({ offset: this.offset, outputs: this.out.length, merge: this.merge.snapshot(), decision: this.decision.snapshot() }),
    );
  }

  /** Crash: the new owner restores and re-reads; what it says again replaces what was said after the checkpoint. */
  crash(): void {
    this.fresh();
    const cp = this.saved!;
    this.offset = cp.offset;
    this.out.length = cp.outputs;
    this.merge.restore(cp.merge);
    this.decision.restore(cp.decision);
  }
}

function sharded(
  records: (Sample | ContextEvent)[],
  partitions: number,
  seed: number,
  crashes: boolean,
): { out: string[]; duplicates: number; outOfOrder: number } {
  const random = rng(seed);
  const topic: Msg[] = [];
  const ids = Array.from({ length: partitions }, (_, i) => String(i));
  const inputs = ids.map(() => [] as (Sample | ContextEvent)[]);
  for (const r of records) {
    if ('kind' in r) for (const input of inputs) input.push(r);
    else inputs[hash(`${r.service}|${r.metric}`) % partitions]!.push(r);
  }
  const shards = ids.map((id, i) => new Shard(id, inputs[i]!, topic));
  const decider = new Decider(ids);
  let steps = 0;
  while (shards.some((s) => !s.done)) {
    const live = shards.filter((s) => !s.done);
    const s = live[Math.floor(random() * live.length)]!;
    s.batch(1 + Math.floor(random() * 400));
    if (random() < 0.3) decider.read(topic, topic.length - Math.floor(random() * 50));
    if (crashes) {
      steps++;
      if (steps % 7 === 0) s.checkpoint();
      if (steps % 23 === 0) s.crash();
      if (steps % 11 === 0) decider.checkpoint();
      if (steps % 37 === 0) decider.crash();
    }
  }
  for (const s of shards) s.end();
  decider.read(topic, topic.length);
  decider.merge.flush();
  return { out: decider.out, duplicates: decider.merge.stats.duplicates, outOfOrder: decider.merge.stats.outOfOrder };
}

describe('sharded detection, merged, decides like the in-process pipeline', () => {
  for (const scenario of ['bad-deploy', 'canary-bad-deploy', 'cold-cache-shift']) {
    const records = load(`fixtures/scenarios/${scenario}.jsonl`);
    const expected = inProcess(records);
    const recommendations = (out: string[]): string[] => out.filter((l) => l.startsWith('{"type":"recommendation"'));

    it(`${scenario}: 1, 3 and 6 partitions, random batches and interleavings: identical output`, () => {
      expect(recommendations(expected).length).toBeGreaterThan(0);
      for (const [partitions, seed] of [
        [1, 1],
        [3, 2],
        [6, 3],
      ] as const) {
        const r = sharded(records, partitions, seed, false);
        expect(r.outOfOrder).toBe(0);
        expect(r.out).toEqual(expected);
      }
    });

    it(`${scenario}: shards and the decider crash and resume from checkpoints: same decisions, re-deliveries dropped`, () => {
      const r = sharded(records, 3, 7, true);
      expect(r.duplicates).toBeGreaterThan(0);
      expect(r.outOfOrder).toBe(0);
      expect(r.out).toEqual(expected);
    });
  }
});

describe('DetectionMerge', () => {
  const health = (
    service: string,
    stack: string,
    ts: number,
    p: { scores?: Record<string, number>; saturation?: number | null; inEpisode?: string[]; reporting: number; known: number },
  ): ShardOutput => ({
    type: 'health',
    ts,
    service,
    stack,
    scores: p.scores ?? {},
    saturation: p.saturation ?? null,
    inEpisode: p.inEpisode ?? [],
    reporting: p.reporting,
    known: p.known,
  });

  it('combines partial health: max score and saturation, summed series, union of episodes, silent shards by their last word', () => {
    const got: unknown[] = [];
    const m = new DetectionMerge(['0', '1'], { detection: (e) => void got.push(e), context: () => {} });
    const t1 = 60_000 - 1;
    m.offer('0', 1, health('s', 'a', t1, { scores: { latency: 2.5, reliability: 1 }, saturation: 0.4, inEpisode: ['p99'], reporting: 2, known: 2 }));
    m.offer('1', 1, health('s', 'a', t1, { scores: { latency: 4, business: -1 }, saturation: 0.7, inEpisode: ['err'], reporting: 1, known: 3 }));
    m.advance('0', 60_000);
    expect(got).toEqual([]); // shard 1 has not said it is past the minute
    m.advance('1', 60_000);
    expect(got).toEqual([
      {
        type: 'health',
        ts: t1,
        service: 's',
        stack: 'a',
        scores: { reliability: 1, latency: 4, business: -1 },
        saturation: 0.7,
        inEpisode: ['err', 'p99'],
        reporting: 3,
        known: 5,
      },
    ]);
    // Next minute only shard 0 has data: shard 1's series still count as known, not reporting.
    const t2 = 120_000 - 1;
    m.offer('0', 2, health('s', 'a', t2, { scores: { latency: 0.5 }, reporting: 2, known: 2 }));
    m.advance('0', 120_000);
    m.advance('1', 120_000);
    expect(got[1]).toEqual({
      type: 'health',
      ts: t2,
      service: 's',
      stack: 'a',
      scores: { latency: 0.5 },
      saturation: null,
      inEpisode: ['err'],
      reporting: 2,
      known: 5,
    });
  });

  it('passes each context event on once, orders by time then kind, and drops re-delivered numbers', () => {
    const seen: string[] = [];
    const m = new DetectionMerge(['0', '1'], { detection: (e) => void seen.push(`${e.type}@${e.ts}`), context: (e) => void seen.push(`${e.kind}@${e.ts}`) });
    const deploy: ContextEvent = { ts: 1000, kind: 'deployment', id: 'd1', service: 's', stack: 'a', attributes: {} };
    m.offer('1', 1, {
      type: 'anomaly',
      ts: 1000,
      stack: 'a',
      service: 's',
      signal: 'latency',
      metric: 'p99',
      stage: 'warn',
      value: 2,
      expected: 1,
      score: 5,
      persistence: { hits: 1, of: 5 },
      coldStart: false,
    });
    m.offer('0', 1, deploy);
    m.offer('1', 2, deploy);
    expect(m.offer('1', 2, deploy)).toBe(false);
    m.advance('0', 2000);
    m.advance('1', 2000);
    expect(seen).toEqual(['deployment@1000', 'anomaly@1000']);
    expect(m.stats.duplicates).toBe(1);
  });

  it('recognises a context event that a once-idle shard passes on after its instant was released', () => {
    const seen: string[] = [];
    const m = new DetectionMerge(['0', '1'], { detection: () => {}, context: (e) => void seen.push(e.id) });
    const deploy: ContextEvent = { ts: 1000, kind: 'deployment', id: 'd1', service: 's', stack: 'a', attributes: {} };
    m.offer('0', 1, deploy);
    m.advance('0', 5000);
    m.advance('1', -Infinity, true); // shard 1 idle: its copy is still in its buffer
    expect(seen).toEqual(['d1']);
    m.offer('1', 1, deploy); // shard 1 wakes up and releases its backlog
    m.advance('1', 6000, false);
    m.advance('0', 7000);
    expect(seen).toEqual(['d1']);
    expect(m.stats.outOfOrder).toBe(1);
    // The memory survives a checkpoint.
    const m2 = new DetectionMerge(['0', '1'], { detection: () => {}, context: (e) => void seen.push(e.id) });
    m2.restore(m.snapshot());
    m2.offer('1', 2, deploy);
    m2.advance('0', 8000);
    m2.advance('1', 8000);
    expect(seen).toEqual(['d1']);
  });

  it('an idle shard stops holding the merged watermark; when all are idle the newest counts', () => {
    const seen: number[] = [];
    const m = new DetectionMerge(['0', '1'], { detection: (e) => void seen.push(e.ts), context: () => {} });
    m.offer('0', 1, {
      type: 'breach',
      ts: 5000,
      stack: 'a',
      service: 's',
      signal: 'reliability',
      metric: 'e',
      value: 1,
      slo: { kind: 'error_rate', limit: 0.5, comparator: '>' },
    });
    m.advance('0', 9000);
    expect(seen).toEqual([]); // shard 1 never reported: it may still send something older
    m.advance('1', -Infinity, true);
    expect(seen).toEqual([5000]);
    expect(m.watermark).toBe(9000);
    m.advance('1', 7000, false);
    expect(m.watermark).toBe(7000);
  });
});
