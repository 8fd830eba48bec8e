import { SIGNALS, type ContextEvent, type Sample, type Signal } from '../domain/types.js';
import { parseLine } from './record-parser.js';

/**
 * Parsed lines in columns, as a parsing thread hands them to the pipeline's thread: samples as
 * typed arrays (transferred, not copied) with their series named once in a key table, events and
 * refusals as objects (rare), each placed before the sample it preceded in the file.
 */
export interface ParsedBatch {
  samples: number;
  ts: Float64Array;
  value: Float64Array;
  /** NaN where the sample carries no count. */
  count: Float64Array;
  /** Index into the key table (see SeriesKeys). */
  key: Uint32Array;
  /** Keys first seen in this batch, appended to the table in order: [signal index, service, metric, stack]. */
  newKeys: [number, string, string, string][];
  /** Events and refused lines, with the index of the sample they came before. */
  others: { at: number; event?: ContextEvent; reject?: { lineNo: number; reason: string; raw: string } }[];
  /** Non-blank lines in the batch. */
  lines: number;
  bytesRead: number;
  totalBytes: number;
}

/** The parsing side: lines in, batches out. Keys are remembered across batches. */
export class ParsedBatchBuilder {
  /**
   * Key ids by service, metric, stack and signal index: nested lookups of the strings the parser
   * already has, rather than a joined string per sample (an allocation and a hash of the whole).
   */
  private readonly keys = new Map<string, Map<string, Map<string, number[]>>>();
  private nextKey = 0;

  private keyOf(s: Sample, newKeys: ParsedBatch['newKeys']): number {
    let metrics = this.keys.get(s.service);
    if (metrics === undefined) this.keys.set(s.service, (metrics = new Map()));
    let stacks = metrics.get(s.metric);
    if (stacks === undefined) metrics.set(s.metric, (stacks = new Map()));
    let bySignal = stacks.get(s.stack);
    if (bySignal === undefined) stacks.set(s.stack, (bySignal = [-1, -1, -1, -1]));
    const signal = SIGNALS.indexOf(s.signal);
    let id = bySignal[signal]!;
    if (id < 0) {
      id = bySignal[signal] = this.nextKey++;
      newKeys.push([signal, s.service, s.metric, s.stack]);
    }
    return id;
  }

  build(lines: readonly string[], firstLineNo: number, bytesRead: number, totalBytes: number): ParsedBatch {
    const n = lines.length;
    const b: ParsedBatch = {
      samples: 0,
      ts: new Float64Array(n),
      value: new Float64Array(n),
      count: new Float64Array(n),
      key: new Uint32Array(n),
      newKeys: [],
      others: [],
      lines: 0,
      bytesRead,
      totalBytes,
    };
    for (let i = 0; i < n; i++) {
      const line = lines[i]!;
      if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim().length === 0)) continue;
      b.lines++;
      const p = parseLine(line);
      if (!p.ok) b.others.push({ at: b.samples, reject: { lineNo: firstLineNo + i, reason: p.reason, raw: line.length > 2000 ? line.slice(0, 2000) : line } });
      else if (p.kind === 'event') b.others.push({ at: b.samples, event: p.event });
      else {
        const s = p.sample;
        const id = this.keyOf(s, b.newKeys);
        const j = b.samples++;
        b.ts[j] = s.ts;
        b.value[j] = s.value;
        b.count[j] = s.count ?? Number.NaN;
        b.key[j] = id;
      }
    }
    return b;
  }
}

/** The pipeline's side: the key table, and each batch back as samples, events and refusals in file order. */
export class ParsedBatchReader {
  private readonly keys: { signal: Signal; service: string; metric: string; stack: string }[] = [];

  read(b: ParsedBatch, on: { sample(s: Sample): void; event(e: ContextEvent): void; reject(lineNo: number, reason: string, raw: string): void }): void {
    for (const [signal, service, metric, stack] of b.newKeys) this.keys.push({ signal: SIGNALS[signal]!, service, metric, stack });
    let o = 0;
    for (let j = 0; j <= b.samples; j++) {
      for (; o < b.others.length && b.others[o]!.at === j; o++) {
        const x = b.others[o]!;
        if (x.event !== undefined) on.event(x.event);
        else if (x.reject !== undefined) on.reject(x.reject.lineNo, x.reject.reason, x.reject.raw);
      }
      if (j === b.samples) break;
      const k = this.keys[b.key[j]!]!;
      const s: Sample = { ts: b.ts[j]!, signal: k.signal, metric: k.metric, stack: k.stack, service: k.service, value: b.value[j]! };
      const c = b.count[j]!;
      if (c === c) s.count = c;
      on.sample(s);
    }
  }
}
