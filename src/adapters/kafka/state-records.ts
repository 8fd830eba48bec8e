/**
 * A checkpoint as records of the compacted state topic. A broker refuses a record batch larger than
 * the topic's max.message.bytes (1 MiB unless raised), and one partition's state grows with its
 * series: some 4 KB of text each after a week of daily and weekly seasons, so a samples partition
 * of 100,000 series is 400 MB of text, and a decider's look-ahead holds a profile per saturation
 * series. A value longer than `maxChars` is written as parts under their own keys, then a small
 * head record under the state's key that names them: the head is the commit point.
 *
 * Parts alternate between two slots by generation, so a crash half-way through writing one
 * generation's parts leaves the previous one whole, and its head still names it. Compaction keeps
 * the latest record per key: both slots survive it, and the older slot is the one overwritten next.
 * A slot's parts beyond the count just written (left by a larger state, two generations back) and,
 * when the state fits one record again, both slots' parts are deleted with tombstones once the head
 * or the record is written: compaction then drops them, where they would otherwise stay on the
 * topic, and be read at every restore, for good. The counts come from what was written, and after a
 * restart from what the topic held (see readLines).
 */

import { CompressionTypes, type Producer } from 'kafkajs';
import { PIECES_PER_TAKE } from '../../core/detection/snapshot-stream.js';

/** Marks a head record (a checkpoint is an object whose first key is never this). */
const HEAD = '{"$parts":';
/** Between a state's key and a part's slot and index. */
const PART = '#part/';

interface Head {
  $parts: number;
  slot: number;
  generation: number;
}

export interface StateRecord {
  key: string;
  /** Null: a tombstone, which deletes the key on compaction. */
  value: string | null;
}

function partKey(key: string, slot: number, index: number): string {
  return `${key}${PART}${slot}/${index}`;
}

/** The state key a record belongs to: itself, or the key of the state it is a part of. */
export function stateKeyOf(recordKey: string): string {
  const i = recordKey.indexOf(PART);
  return i < 0 ? recordKey : recordKey.slice(0, i);
}

export class StateRecords {
  /** The generation last written or read per state key: the next write takes the other slot. */
  private readonly generations = new Map<string, number>();
  /** Per state key, how many parts each slot holds on the topic (as far as this instance knows). */
  private readonly partCounts = new Map<string, [number, number]>();

  constructor(private readonly maxChars: number) {
    if (!(maxChars >= 1)) throw new RangeError('maxChars must be at least 1');
  }

  /**
   * Writes the lines `lines` yields (none may hold a newline) under `key`, sending each record as
   * soon as it is full: only one record's text is held at a time, whatever the checkpoint's size.
   */
  async write(key: string, lines: Iterable<string>, send: (record: StateRecord) => Promise<unknown>): Promise<void> {
    for (const record of this.recordsOf(key, lines)) await send(record);
  }

  /** The lines joined by newlines, as records: one when it fits, else parts and then the head. */
  private *recordsOf(key: string, lines: Iterable<string>): Generator<StateRecord> {
    // The generation is taken only once its head is on the topic (code after a yield runs once the
    // record was sent): a write that failed half-way is retried into the same, unused slot, never
    // into the one the live head names.
    const generation = (this.generations.get(key) ?? 0) + 1;
    const slot = generation % 2;
    let parts = 0;
    let text: string | undefined;
    for (const line of lines) {
      text = text === undefined ? line : `${text}\n${line}`;
      while (text.length > this.maxChars) {
        yield { key: partKey(key, slot, parts++), value: `${generation}\n${text.slice(0, this.maxChars)}` };
        this.sent(key, slot, parts);
        text = text.slice(this.maxChars);
      }
    }
    if (parts === 0) {
      yield { key, value: text ?? '' };
      this.generations.set(key, generation);
      yield* this.tombstones(key, 0, 0);
      yield* this.tombstones(key, 1, 0);
      return;
    }
    if (text !== undefined && text.length > 0) {
      yield { key: partKey(key, slot, parts++), value: `${generation}\n${text}` };
      this.sent(key, slot, parts);
    }
    const head: Head = { $parts: parts, slot, generation };
    yield { key, value: JSON.stringify(head) };
    this.generations.set(key, generation);
    yield* this.tombstones(key, slot, parts);
  }

  /** The per-slot part counts of `key`, created empty. */
  private countsOf(key: string): [number, number] {
    let counts = this.partCounts.get(key);
    if (counts === undefined) this.partCounts.set(key, (counts = [0, 0]));
    return counts;
  }

  /** `slot` holds at least `parts` parts now (a write that fails after them leaves them to delete). */
  private sent(key: string, slot: number, parts: number): void {
    const counts = this.countsOf(key);
    if (parts > counts[slot]!) counts[slot] = parts;
  }

  /** Deletes `slot`'s parts from index `from` on, as far as they are known to exist; the slot then holds `from`. */
  private *tombstones(key: string, slot: number, from: number): Generator<StateRecord> {
    const counts = this.countsOf(key);
    for (let i = from; i < counts[slot]!; i++) yield { key: partKey(key, slot, i), value: null };
    counts[slot] = from;
  }

  /**
   * The value last written under `key`, from the latest record per key (see readLatest); undefined
   * when there is none. Throws, naming the key and the part, when a head names a part the topic
   * does not hold at that generation: a checkpoint is used whole or not at all.
   */
  read(key: string, latest: ReadonlyMap<string, string>): string | undefined {
    return this.readLines(key, latest)?.join('\n');
  }

  /** The same, as the lines it was written from (see write): never one string of the whole checkpoint. */
  readLines(key: string, latest: ReadonlyMap<string, string>): string[] | undefined {
    this.partCounts.set(key, [partsHeld(key, 0, latest), partsHeld(key, 1, latest)]);
    const value = latest.get(key);
    if (value === undefined || !value.startsWith(HEAD)) return value?.split('\n');
    const head = JSON.parse(value) as Head;
    this.generations.set(key, head.generation);
    const stamp = `${head.generation}\n`;
    const lines: string[] = [];
    let carry = '';
    for (let i = 0; i < head.$parts; i++) {
      const part = latest.get(partKey(key, head.slot, i));
      if (part === undefined || !part.startsWith(stamp))
        throw new Error(
          `state ${key}: part ${i + 1} of ${head.$parts} of generation ${head.generation} is ${part === undefined ? 'missing' : 'from another generation'}`,
        );
      const split = (carry + part.slice(stamp.length)).split('\n');
      carry = split.pop()!;
      for (const line of split) lines.push(line);
    }
    lines.push(carry);
    return lines;
  }
}

/**
 * How far `slot` of `key` holds parts on the topic: one past the highest index it holds, gaps
 * included (a crash part-way through a run of tombstones leaves the parts above it).
 */
function partsHeld(key: string, slot: number, latest: ReadonlyMap<string, string>): number {
  const prefix = partKey(key, slot, 0).slice(0, -1);
  let n = 0;
  for (const k of latest.keys()) {
    if (!k.startsWith(prefix)) continue;
    const index = Number(k.slice(prefix.length));
    if (Number.isInteger(index) && index >= n) n = index + 1;
  }
  return n;
}

/**
 * Sends state records to `topic` one a request, gzipped: each is up to `maxChars`, and the broker
 * caps a batch at the topic's max.message.bytes.
 */
export function stateTopicSender(producer: Producer, topic: string): (record: StateRecord) => Promise<unknown> {
  return (record) => producer.send({ topic, compression: CompressionTypes.GZIP, messages: [record] });
}

/** The pieces a streamed snapshot hands out (`take` until it says null), one line each. */
export function* takenLines(take: (max: number) => string[] | null, perTake = PIECES_PER_TAKE): Generator<string> {
  for (let pieces = take(perTake); pieces !== null; pieces = take(perTake)) yield* pieces;
}
