import type { Signal } from '../../domain/types.js';
import type { SloGateParams } from './detection-params.js';
import type { SloGate } from '../predict/breach-predictor.js';

/**
 * Compiled SLO gates: the first gate whose signal and metric pattern match a series applies.
 *
 * A gate with a `limitUnit` follows each series' unit, so one default fits `http_5xx_rate` as a
 * fraction and `errors_percent` in percent, `http_p99_ms` and `request_duration_p99_seconds`: the
 * name decides when it says the unit; otherwise a fraction gate decides from the series' first
 * UNIT_DECISION_POINTS values: percent if most of them are above 1 (a utilisation of 45 means
 * 45 %), fraction if not (a CPU at 1.05 of its request is still a fraction). A fraction decision
 * is revised once if a value above FRACTION_CEILING comes later: a standby stack's pool at 0-2 %
 * for its first half hour looked like a fraction, and its gate of 0.9 then read 36 % as breached
 * ({@link adaptGateToValue}).
 */
export class SloGates {
  private readonly compiled: { re: RegExp; signal: Signal | undefined; config: SloGateParams }[];

  constructor(gates: readonly SloGateParams[]) {
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
const SECONDS_NAME = /(^|[_.-])(seconds?|secs?|s)([_.-]|$)/i;
const MICROS_NAME = /(^|[_.-])(microseconds?|us|µs)([_.-]|$)/i;
const NANOS_NAME = /(^|[_.-])(nanoseconds?|ns)([_.-]|$)/i;

/** Values a fraction gate looks at before it decides whether its series is in percent. */
export const UNIT_DECISION_POINTS = 30;
/** No fraction (an error ratio, a utilisation, even an over-committed one) goes above this. */
const FRACTION_CEILING = 1.5;

function gateFor(g: SloGateParams, metric: string): SloGate {
  const gate: SloGate = { kind: g.kind, limit: g.limit, comparator: g.comparator, relative: g.relative };
  if (g.limitUnit === 'fraction') {
    if (PERCENT_NAME.test(metric)) {
      gate.limit = g.limit * 100;
      gate.unit = 'percent';
    } else {
      gate.unit = 'fraction';
      gate.unitFromValues = true;
      gate.unitSeen = 0;
      gate.unitAbove = 0;
    }
  } else if (g.limitUnit === 'ms') {
    const [factor, unit] = SECONDS_NAME.test(metric)
      ? [1 / 1000, 's' as const]
      : MICROS_NAME.test(metric)
        ? [1000, 'us' as const]
        : NANOS_NAME.test(metric)
          ? [1e6, 'ns' as const]
          : [1, 'ms' as const];
    gate.limit = g.limit * factor;
    gate.unit = unit;
  }
  return gate;
}

/**
 * A fraction gate whose unit was not in the name learns it from its series' first values (see the
 * class comment). Returns true when it switched to percent.
 */
/**
 * The ceiling a complement error gate (a success rate or availability, bad below its limit) counts
 * failures from: 1 for a fraction, 100 in percent; NaN for every other gate and for none.
 */
export function complementCeiling(gate: SloGate | null): number {
  if (gate === null || gate.kind !== 'error_rate' || gate.comparator !== '<' || gate.relative) return Number.NaN;
  return gate.unit === 'percent' ? 100 : 1;
}

export function adaptGateToValue(gate: SloGate, value: number): boolean {
  if (value !== value) return false;
  if (gate.unitWatch === true) {
    if (value <= FRACTION_CEILING) return false;
    gate.unitWatch = false;
    return toPercent(gate);
  }
  if (gate.unitFromValues !== true) return false;
  const seen = (gate.unitSeen ?? 0) + 1;
  const above = (gate.unitAbove ?? 0) + (value > 1 ? 1 : 0);
  gate.unitSeen = seen;
  gate.unitAbove = above;
  if (seen < UNIT_DECISION_POINTS && value <= FRACTION_CEILING) return false;
  gate.unitFromValues = false;
  if (2 * above <= seen && value <= FRACTION_CEILING) {
    gate.unitWatch = true;
    return false;
  }
  return toPercent(gate);
}

function toPercent(gate: SloGate): boolean {
  gate.limit *= 100;
  gate.unit = 'percent';
  return true;
}
