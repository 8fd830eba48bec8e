import type { LabelMapping } from './config.js';
import { SIGNALS, type Signal } from '../../domain/types.js';
import { MAX_NAME } from '../../ingest/record-parser.js';

export type Mapped = { ok: true; signal: Signal; metric: string; stack: string; service: string } | { ok: false; reason: string };

const SIGNAL_SET: ReadonlySet<string> = new Set(SIGNALS);

/**
 * Maps a labelled series (Prometheus style: `__name__` plus labels) onto Harbinger's
 * signal/metric/stack/service. Rules are compiled once; a series that matches no rule is skipped
 * with a reason rather than guessed.
 */
export class LabelMapper {
  private readonly rules: { re: RegExp; signal: Signal; rename: string | undefined }[];

  constructor(private readonly m: LabelMapping) {
    this.rules = m.metrics.map((r) => ({ re: new RegExp(r.match), signal: r.signal, rename: r.rename }));
  }

  map(labels: Readonly<Record<string, string>>): Mapped {
    const name = labels['__name__'] ?? '';
    const stack = labels[this.m.stackLabel];
    if (stack === undefined || stack === '') return { ok: false, reason: `no '${this.m.stackLabel}' label` };
    const service = labels[this.m.serviceLabel] || this.m.defaultService;
    // The same bound as a JSON sample's names: series keys stay small whatever a target exports.
    if (name.length > MAX_NAME) return { ok: false, reason: `metric name longer than ${MAX_NAME} characters` };
    if (stack.length > MAX_NAME) return { ok: false, reason: `'${this.m.stackLabel}' label longer than ${MAX_NAME} characters` };
    if (service.length > MAX_NAME) return { ok: false, reason: `'${this.m.serviceLabel}' label longer than ${MAX_NAME} characters` };
    const explicit = labels[this.m.signalLabel];
    if (explicit !== undefined && SIGNAL_SET.has(explicit)) return { ok: true, signal: explicit as Signal, metric: name, stack, service };
    for (const r of this.rules) if (r.re.test(name)) return { ok: true, signal: r.signal, metric: r.rename ?? name, stack, service };
    return { ok: false, reason: `metric '${name}' matches no mapping rule` };
  }
}
