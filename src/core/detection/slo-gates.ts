import type { Signal } from '../../domain/types.js';
import type { SloGateConfig } from '../../config/detection.js';
import type { SloGate } from '../predict/breach-predictor.js';

/** Compiled SLO gates: the first gate whose signal and metric pattern match a series applies. */
export class SloGates {
  private readonly compiled: { re: RegExp; signal: Signal | undefined; gate: SloGate }[];

  constructor(gates: readonly SloGateConfig[]) {
    this.compiled = gates.map((g) => ({
      re: new RegExp(g.metric),
      signal: g.signal,
      gate: Object.freeze({ kind: g.kind, limit: g.limit, comparator: g.comparator, relative: g.relative }),
    }));
  }

  /** Called once per new series, not per sample. */
  match(signal: Signal, metric: string): SloGate | undefined {
    for (const c of this.compiled) {
      if ((c.signal === undefined || c.signal === signal) && c.re.test(metric)) return c.gate;
    }
    return undefined;
  }
}
