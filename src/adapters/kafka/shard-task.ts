import type { DetectionConfig } from '../../config/detection.js';
import { DetectionEngine, type DetectionSnapshot } from '../../core/detection/detection-engine.js';
import type { ShardOutput } from '../../core/merge/detection-merge.js';
import type { GroupSnapshot } from '../../core/detection/snapshot-stream.js';
import { decodeState, encodeState } from '../../core/state/json-codec.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { ShardMessage } from './message-codec.js';
import { takenLines } from './state-records.js';

/**
 * One assigned samples partition of a shard worker (a task in Kafka Streams terms): its own
 * detection engine restored from its own checkpoint, the input positions that state reflects, and
 * the numbered output not yet published. Plain functions over it; the worker does the I/O.
 */

/** Items per detections-topic message: well under the broker's 1 MiB default per record. */
const ITEMS_PER_MESSAGE = 1000;

/**
 * One samples partition's detection state, with the input positions it reflects. Version 1 is
 * written whole; version 2 is written as lines (see checkpointLines) and read back as this.
 */
export interface ShardCheckpoint {
  version: 1 | 2;
  partition: number;
  /** Next samples offset to read. */
  nextOffset: string;
  /** Number of the last output item (the decider drops numbers it has seen). */
  seq: number;
  /** Per events partition: the next event offset to hand to this shard's engine. */
  eventsNext: Record<string, string>;
  time: number | null;
  floor: number | null;
  detection: DetectionSnapshot;
}

export interface Progress {
  /** Newest event time read. */
  time: number;
  /** Read up to the log end (as of the last fetch). */
  caughtUp: boolean;
}

/** One assigned samples partition: its own detection engine, restored from its own checkpoint. */
export interface Task {
  partition: number;
  shard: string;
  engine: DetectionEngine;
  seq: number;
  nextOffset: bigint;
  eventsNext: Map<number, bigint>;
  progress: Progress;
  /** From watermark records: the producer promised nothing older. */
  floor: number;
  /** Wall clock of the last message from the partition (idleness). */
  lastRecordAt: number;
  /** Output not yet published; the first has number `sentSeq + 1`. */
  out: ShardOutput[];
  sentSeq: number;
  /** The offset this task last asked the consumer to go back to (a gap is accepted after one try). */
  soughtTo: bigint;
  sent: { watermark: number; idle: boolean };
}

/** A task for `partition`, restored from `cp` when there is one, else reading from the log start. */
export function createShardTask(
  partition: number,
  cp: ShardCheckpoint | undefined,
  logStart: bigint,
  deps: { detection: DetectionConfig; now: number; maxSeries: number; onRejected?: (record: Sample | ContextEvent, reason: string) => void },
): Task {
  const shard = String(partition);
  const task: Task = {
    partition,
    shard,
    engine: undefined as unknown as DetectionEngine,
    seq: cp?.seq ?? 0,
    nextOffset: cp !== undefined ? BigInt(cp.nextOffset) : logStart,
    eventsNext: new Map(Object.entries(cp?.eventsNext ?? {}).map(([p, o]) => [Number(p), BigInt(o)])),
    progress: { time: cp?.time ?? -Infinity, caughtUp: false },
    floor: cp?.floor ?? -Infinity,
    lastRecordAt: deps.now,
    out: [],
    sentSeq: cp?.seq ?? 0,
    soughtTo: -1n,
    sent: { watermark: -Infinity, idle: false },
  };
  task.engine = new DetectionEngine(
    deps.detection,
    {
      detection: (e) => {
        task.seq++;
        task.out.push(e);
      },
      context: (e) => {
        task.seq++;
        task.out.push(e);
      },
      ...(deps.onRejected !== undefined ? { rejected: deps.onRejected } : {}),
    },
    true,
    deps.maxSeries,
  );
  if (cp !== undefined) task.engine.restore(cp.detection);
  return task;
}

/** Hands a task every context event it has not had yet, in offset order per events partition. */
export function offerEvents(task: Task, events: ReadonlyMap<number, readonly { offset: bigint; event: ContextEvent }[]>): void {
  for (const [p, list] of events) {
    const next = task.eventsNext.get(p) ?? 0n;
    for (let i = lowerBound(list, next); i < list.length; i++) task.engine.offerEvent(list[i]!.event);
    if (list.length > 0 && list[list.length - 1]!.offset >= next) task.eventsNext.set(p, list[list.length - 1]!.offset + 1n);
  }
}

/** A version-2 checkpoint's first line: everything but the metric groups, one line each after it. */
type CheckpointHead = Omit<ShardCheckpoint, 'detection'> & { detection: Omit<DetectionSnapshot, 'groups'> };

/**
 * The task's state and the input positions it reflects, for the compacted state topic, as lines
 * produced while they are written (see StateRecords.write): the positions and the engine's state
 * without its metric groups, then one line per group. Never one string of the whole partition: at
 * 100,000 series that would be some 400 MB, near V8's longest string.
 */
export function* checkpointLines(task: Task): Generator<string> {
  const detection = task.engine.beginSnapshot();
  try {
    const head: CheckpointHead = {
      version: 2,
      partition: task.partition,
      nextOffset: task.nextOffset.toString(),
      seq: task.seq,
      eventsNext: Object.fromEntries([...task.eventsNext].map(([p, o]) => [String(p), o.toString()])),
      time: Number.isFinite(task.progress.time) ? task.progress.time : null,
      floor: Number.isFinite(task.floor) ? task.floor : null,
      detection,
    };
    yield encodeState(head);
    yield* takenLines((max) => task.engine.takeGroups(max));
  } finally {
    task.engine.endSnapshot();
  }
}

/** A checkpoint from the lines it was written as: version 2's head and groups, or version 1 whole. */
export function checkpointFromLines(lines: readonly string[]): ShardCheckpoint {
  const head = decodeState<ShardCheckpoint | CheckpointHead>(lines[0] ?? '');
  if (head.version === 1) return head as ShardCheckpoint;
  const groups: GroupSnapshot[] = [];
  for (let i = 1; i < lines.length; i++) groups.push(decodeState<GroupSnapshot>(lines[i]!));
  return { ...head, detection: { ...head.detection, groups } };
}

/**
 * The task's unpublished output as detections-topic messages, numbered from `sentSeq + 1`. A big
 * backlog is split; only the last part carries the new watermark and idleness.
 */
export function outputMessages(task: Task, items: readonly ShardOutput[], watermark: number, idle: boolean): ShardMessage[] {
  const messages: ShardMessage[] = [];
  for (let i = 0; i < items.length || messages.length === 0; i += ITEMS_PER_MESSAGE) {
    const last = i + ITEMS_PER_MESSAGE >= items.length;
    messages.push({
      shard: task.shard,
      seq: task.sentSeq + 1 + i,
      items: items.slice(i, i + ITEMS_PER_MESSAGE),
      watermark: last ? watermark : task.sent.watermark,
      idle: last ? idle : task.sent.idle,
    });
  }
  return messages;
}

/** First index whose offset is at or after `offset`. */
function lowerBound(list: readonly { offset: bigint }[], offset: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
