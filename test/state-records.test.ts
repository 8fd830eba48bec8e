import { describe, expect, it } from 'vitest';
import { StateRecords, stateKeyOf, type StateRecord } from '../src/adapters/kafka/state-records.js';

/** What a compacted topic keeps of `records`: the latest value per key. */
function compact(records: readonly StateRecord[], into = new Map<string, string>()): Map<string, string> {
  for (const r of records) {
    if (r.value === null) into.delete(r.key);
    else into.set(r.key, r.value);
  }
  return into;
}

/** The records `w` sends to write `value` under `key`, in order. */
async function recordsOf(w: StateRecords, key: string, value: string): Promise<StateRecord[]> {
  const sent: StateRecord[] = [];
  await w.write(key, [value], async (r) => void sent.push(r));
  return sent;
}

const checkpoint = (n: number): string => JSON.stringify({ version: 1, series: Array.from({ length: n }, (_, i) => ({ i, v: i * 0.5 })) });

describe('checkpoints as records of the compacted state topic', () => {
  it('writes a small checkpoint as one record under its key, as before', async () => {
    const w = new StateRecords(10_000);
    const value = checkpoint(10);
    expect(await recordsOf(w, 'g/shard/0', value)).toEqual([{ key: 'g/shard/0', value }]);
    expect(new StateRecords(10_000).read('g/shard/0', compact(await recordsOf(w, 'g/shard/0', value)))).toBe(value);
  });

  it('splits a large one into parts of at most maxChars, head last, and reads it back whole', async () => {
    const w = new StateRecords(1000);
    const value = checkpoint(500);
    const records = await recordsOf(w, 'g/shard/3', value);
    expect(records.length).toBe(Math.ceil(value.length / 1000) + 1);
    expect(records.at(-1)!.key).toBe('g/shard/3');
    for (const r of records.slice(0, -1)) {
      expect(stateKeyOf(r.key)).toBe('g/shard/3');
      expect(r.value!.length).toBeLessThanOrEqual(1000 + '1\n'.length);
    }
    expect(new StateRecords(1000).read('g/shard/3', compact(records))).toBe(value);
  });

  it('a crash half-way through a generation leaves the previous one readable; the next write takes the other slot', async () => {
    const w = new StateRecords(1000);
    const first = checkpoint(300);
    const topic = compact(await recordsOf(w, 'g/decide', first));
    const second = checkpoint(400);
    const records = await recordsOf(w, 'g/decide', second);
    // Only half of the second generation's parts reached the broker, and not its head.
    compact(records.slice(0, Math.floor(records.length / 2)), topic);
    const restarted = new StateRecords(1000);
    expect(restarted.read('g/decide', topic)).toBe(first);
    // The instance that restored generation 1 writes generation 2 into the slot generation 1 did not use.
    const third = checkpoint(350);
    compact(await recordsOf(restarted, 'g/decide', third), topic);
    expect(new StateRecords(1000).read('g/decide', topic)).toBe(third);
    // ...and the generation before it is still whole in its own slot.
    const firstParts = [...topic.keys()].filter((k) => k.startsWith('g/decide#part/1/'));
    expect(firstParts.length).toBeGreaterThan(0);
  });

  it('refuses a head whose parts are missing or from another generation, naming the key and the part', async () => {
    const w = new StateRecords(1000);
    const topic = compact(await recordsOf(w, 'g/shard/1', checkpoint(300)));
    const missing = new Map(topic);
    missing.delete('g/shard/1#part/1/2');
    expect(() => new StateRecords(1000).read('g/shard/1', missing)).toThrow('state g/shard/1: part 3 of');
    const stale = new Map(topic);
    stale.set('g/shard/1#part/1/0', '7\n{"x":1}');
    expect(() => new StateRecords(1000).read('g/shard/1', stale)).toThrow(/part 1 of \d+ of generation 1 is from another generation/);
  });

  it('streams lines into records as they come, and gives the lines back, one longer than a record included', async () => {
    const w = new StateRecords(1000);
    const lines = ['{"head":1}', ...Array.from({ length: 40 }, (_, i) => checkpoint(i % 7)), checkpoint(200), '{"last":true}'];
    const sent: StateRecord[] = [];
    let pulled = 0;
    let pulledAtFirst = -1;
    await w.write(
      'g/shard/2',
      (function* () {
        for (const l of lines) {
          pulled++;
          yield l;
        }
      })(),
      async (r) => {
        if (sent.length === 0) pulledAtFirst = pulled;
        sent.push(r);
      },
    );
    // Records go out as they fill: the first before most lines were even produced.
    expect(pulledAtFirst).toBeLessThan(lines.length / 2);
    expect(sent.length).toBe(Math.ceil(lines.join('\n').length / 1000) + 1);
    expect(new StateRecords(1000).readLines('g/shard/2', compact(sent))).toEqual(lines);
    // One line that fits stays one record, as `records` writes it.
    const one: StateRecord[] = [];
    await w.write('g/shard/5', ['{"a":1}'], async (r) => void one.push(r));
    expect(one).toEqual([{ key: 'g/shard/5', value: '{"a":1}' }]);
  });

  it('reads nothing when the topic holds nothing for the key, and a single record when the state shrank', async () => {
    const w = new StateRecords(1000);
    expect(w.read('g/shard/9', new Map())).toBeUndefined();
    const topic = compact(await recordsOf(w, 'g/shard/9', checkpoint(300)));
    const small = checkpoint(2);
    compact(await recordsOf(w, 'g/shard/9', small), topic);
    expect(new StateRecords(1000).read('g/shard/9', topic)).toBe(small);
  });

  it('deletes the parts a smaller state leaves behind (tombstones after the head), also after a restart', async () => {
    const w = new StateRecords(1000);
    const partsOf = (topic: Map<string, string>, slot: number) => [...topic.keys()].filter((k) => k.startsWith(`g/decide#part/${slot}/`)).length;
    const big = checkpoint(600);
    const topic = compact(await recordsOf(w, 'g/decide', big)); // generation 1, slot 1
    compact(await recordsOf(w, 'g/decide', big), topic); // generation 2, slot 0
    const n = partsOf(topic, 1);
    expect(partsOf(topic, 0)).toBe(n);
    // Generation 3 takes slot 1 again with fewer parts: the rest of generation 1's are deleted once its head is out.
    const smaller = checkpoint(200);
    const third = await recordsOf(w, 'g/decide', smaller);
    const head = third.findIndex((r) => r.key === 'g/decide');
    expect(third.slice(head + 1).map((r) => r.value)).toEqual(Array(n - partsOf(compact(third.slice(0, head)), 1)).fill(null));
    compact(third, topic);
    expect(partsOf(topic, 1)).toBeLessThan(n);
    expect(partsOf(topic, 0)).toBe(n); // the previous generation stays whole
    expect(new StateRecords(1000).read('g/decide', topic)).toBe(smaller);
    // A restarted instance counts what the topic holds: when the state fits one record again, every part goes.
    const restarted = new StateRecords(1000);
    expect(restarted.read('g/decide', topic)).toBe(smaller);
    const tiny = checkpoint(2);
    compact(await recordsOf(restarted, 'g/decide', tiny), topic);
    expect([...topic.keys()]).toEqual(['g/decide']);
    expect(new StateRecords(1000).read('g/decide', topic)).toBe(tiny);
  });

  it('retries a write that failed half-way into the same unused slot, never over the parts the live head names', async () => {
    const w = new StateRecords(1000);
    const first = checkpoint(300);
    const topic = compact(await recordsOf(w, 'g/decide', first)); // generation 1, slot 1
    const second = checkpoint(400);
    let sends = 0;
    await expect(
      w.write('g/decide', [second], async (r) => {
        if (++sends > 2) throw new Error('broker unavailable');
        compact([r], topic);
      }),
    ).rejects.toThrow('broker unavailable');
    expect(new StateRecords(1000).read('g/decide', topic)).toBe(first);
    const retry = await recordsOf(w, 'g/decide', second);
    const parts = retry.filter((r) => r.key !== 'g/decide').map((r) => r.key);
    expect(parts.every((k) => k.startsWith('g/decide#part/0/'))).toBe(true);
    // A crash part-way through the retry still leaves generation 1 whole.
    compact(retry.slice(0, 2), topic);
    expect(new StateRecords(1000).read('g/decide', topic)).toBe(first);
    compact(retry, topic);
    expect(new StateRecords(1000).read('g/decide', topic)).toBe(second);
  });

  it('deletes, after a restart, parts above a gap a crash left in a run of tombstones', async () => {
    const w = new StateRecords(1000);
    const topic = compact(await recordsOf(w, 'g/decide', checkpoint(600)));
    const n = [...topic.keys()].filter((k) => k.startsWith('g/decide#part/1/')).length;
    // The state shrank to one record, and only the first two tombstones reached the broker.
    const shrink = await recordsOf(w, 'g/decide', checkpoint(2));
    compact(shrink.slice(0, 3), topic);
    expect([...topic.keys()].filter((k) => k.startsWith('g/decide#part/1/'))).toHaveLength(n - 2);
    const restarted = new StateRecords(1000);
    expect(restarted.read('g/decide', topic)).toBe(checkpoint(2));
    compact(await recordsOf(restarted, 'g/decide', checkpoint(3)), topic);
    expect([...topic.keys()]).toEqual(['g/decide']);
  });
});
