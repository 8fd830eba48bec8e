import type { Signal } from '../../domain/types.js';
import type { SloGateConfig } from '../../config/detection.js';
import type { SloGate } from '../predict/breach-predictor.js';

/**
 * Compiled SLO gates: the first gate whose signal and metric pattern match a series applies.
 *
 * A gate with a `limitUnit` follows each series' unit, so one default fits `http_5xx_rate` as a
 * fraction and `error_percent` in percent, `http_p99_ms` and `request_duration_p99_seconds`: the
 * name decides when it says the unit; a fraction gate whose series sends a value above 1 (which no
 * fraction can) switches that series to percent, once ({@link adaptGateToValue}).
 */
export class SloGates {
  private readonly compiled: { re: RegExp; signal: Signal | undefined; config: SloGateConfig }[];

  constructor(gates: readonly SloGateConfig[]) {
    this.compiled = gates.map((g) => ({ re: new RegExp(g.metric), signal: g.signal, config: g }));
  }

  /** The gate for a new series, in its own units (a fresh object per series). Called once per series, not per sample. */
  match(signal: Signal, metric: string): SloGate | undefined {
    for (const c of this.compiled) {
      if ((c.signal === undefined || c.signal === signal) && c.re.test(metric)) return gateFor(c.config, metric);
    }
    return undefined;
  }
}

const PERCENT_NAME = /percent|pct/i;
const SECONDS_NAME = /(_|^)(seconds?|secs?|s)(_|$)/i;

function gateFor(g: SloGateConfig, metric: string): SloGate {
  const gate: SloGate = { kind: g.kind, limit: g.limit, comparator: g.comparator, relative: g.relative };
  if (g.limitUnit === 'fraction') {
    if (PERCENT_NAME.test(metric)) {
      gate.limit = g.limit * 100;
      gate.unit = 'percent';
    } else {
      gate.unit = 'fraction';
      gate.unitFromValues = true;
    }
  } else if (g.limitUnit === 'ms') {
    const seconds = SECONDS_NAME.test(metric);
    gate.limit = seconds ? g.limit / 1000 : g.limit;
    gate.unit = seconds ? 's' : 'ms';
  }
  return gate;
}

/**
 * A fraction gate whose unit was not in the name learns it from the data: the first value above 1
 * proves percent, and the limit moves with it for good. Returns true when it changed.
 */
export function adaptGateToValue(gate: SloGate, value: number): boolean {
  if (gate.unitFromValues !== true || !(value > 1)) return false;
  gate.limit *= 100;
  gate.unit = 'percent';
  gate.unitFromValues = false;
  return true;
}
