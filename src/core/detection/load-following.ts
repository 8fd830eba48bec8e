/**
 * Whether a capacity series measures a resource whose use grows with the traffic its stack takes
 * (CPU, connection and thread pools, workers, queues), rather than one mostly held whatever the
 * load: memory, heap and disk fill on an idle standby too (a blue/green standby at 4 % of the
 * traffic sits at 56 % memory). A shift's headroom is projected on the first kind only. By name,
 * once per series.
 */
const HELD = /(^|[_.-])(mem(ory)?|heap|disk|storage|fs|filesystem|inodes?|swap)([_.-]|$)/i;

export function followsLoad(metric: string): boolean {
  return !HELD.test(metric);
}
