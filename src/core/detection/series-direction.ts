import { BAD_DIRECTION, type Signal } from '../../domain/types.js';
import type { SloGate } from '../predict/breach-predictor.js';

/**
 * Which way is bad for a metric: its signal's direction (errors, latency and utilisation up,
 * business down), except where the name says the series is the complement of what the signal
 * usually measures. A reliability series can be a success rate, an availability or an Apdex score
 * (the SLI many teams export instead of an error rate), an error budget remaining; a capacity
 * series can count what is left
 * (free memory, idle CPU, available connections). Judged up-is-bad, those would read their own
 * outage as an improvement. Decided once per metric, from its name (see followsTrafficShare).
 * `unavailable`, `unsuccessful`, `non_success`, `not_ok` keep the signal's direction: a 503 rate
 * is an error rate. An absolute SLO gate, when one matches, decides instead: it says which side of
 * its limit is bad (an operator's `http_2xx_ratio < 0.99`).
 */
const GOOD_WHEN_HIGH: Partial<Record<Signal, RegExp>> = {
  reliability: /(?<!un|non[_.-]?|not[_.-]?)(success|availab)|apdex|uptime|goodput|(^|[_.-])(remaining|(?<!(non|not)[_.-])ok)([_.-]|$)/i,
  // Whole words (a `gc_freezes` count is no free memory), and node_exporter's MemAvailable/MemFree.
  capacity: /(^|[_.-])(free|idle|avail(able)?|remaining|headroom|spare)([_.-]|$)|Mem(Available|Free)/i,
};

export function badDirection(signal: Signal, metric: string, gate: SloGate | null = null): 1 | -1 {
  if (gate !== null && !gate.relative) return gate.comparator === '<' ? -1 : 1;
  const good = GOOD_WHEN_HIGH[signal];
  return good?.test(metric) === true ? -1 : BAD_DIRECTION[signal];
}
