import type { Sample } from '../../domain/types.js';
import type { Logger } from '../log/logger.js';
import { layerOf, type HealthChecksConfig, type ProbeConfig } from './config.js';
import { httpProbe } from './http-probe.js';
import { integrityProbe, mismatchOf, SqlPools } from './integrity-probe.js';
import { tcpProbe, tlsProbe } from './network-probes.js';
import { reasonOf, type ProbeResult, type ProbeRun } from './probe-result.js';

/** The timer functions the prober schedules with; tests pass a virtual clock's. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ProberOptions {
  /** Epoch ms: the samples' event time and the schedule. */
  now?: () => number;
  /** Milliseconds for durations; monotonic, so a wall-clock step is not a latency. */
  monotonic?: () => number;
  timers?: Timers;
  /** Where `connectionEnv` names are looked up (the composition root passes process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Where in its interval a probe runs: a hash of its identity (FNV-1a), so a hundred probes with the
 * same interval are spread over it instead of firing together, and a restart keeps each one's slot.
 */
export function offsetOf(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return Math.floor((h / 0x1_0000_0000) * intervalMs);
}

/**
 * The samples one run produces, on the probed stack and service:
 *  - every probe: `probe_<name>_failed_ratio` (reliability), 1 when it failed or could not run, else 0
 *    (the name the default error-rate gate reads as a failure fraction: any failure breaches it);
 *  - TCP, TLS, HTTP that passed: `probe_<name>_duration_ms` (latency);
 *  - integrity, when both numbers were read: `integrity_<name>_agreement_ratio` (business), 1 within
 *    the tolerance, else 1 - the relative difference, with `count` the records compared. Business
 *    because down is bad and the default gate flags it below 95 % of its norm; a ratio by name, so
 *    never scaled by traffic share; `count` is the volume the cross-stack minimum sample counts.
 *    A disagreement is not a failed probe: the check ran, and found the data wrong.
 */
export function samplesOf(p: ProbeConfig, ts: number, result: ProbeResult, durationMs: number): Sample[] {
  const at = { ts, stack: p.stack, service: p.service };
  const failed = p.kind === 'integrity' ? result.agreement === undefined : !result.ok;
  const out: Sample[] = [{ ...at, signal: 'reliability', metric: `probe_${p.name}_failed_ratio`, value: failed ? 1 : 0 }];
  if (p.kind !== 'integrity' && result.ok) out.push({ ...at, signal: 'latency', metric: `probe_${p.name}_duration_ms`, value: Math.max(0, durationMs) });
  if (p.kind === 'integrity' && result.agreement !== undefined) {
    const { left, right } = result.agreement;
    const mismatch = mismatchOf(left, right);
    const value = mismatch <= p.tolerance ? 1 : 1 - mismatch;
    out.push({ ...at, signal: 'business', metric: `integrity_${p.name}_agreement_ratio`, value, count: Math.max(Math.abs(left), Math.abs(right)) });
  }
  return out;
}

interface ProbeState {
  readonly cfg: ProbeConfig;
  readonly key: string;
  readonly run: ProbeRun;
  readonly intervalMs: number;
  readonly offsetMs: number;
  timer: unknown;
  /** At most one run per probe is queued or in flight: the queue is bounded by the number of probes. */
  busy: boolean;
  /** Whether the last run passed (undefined before the first): failures are logged when this changes, not every run. */
  lastOk: boolean | undefined;
  skipped: number;
}

/**
 * Runs the configured probes, each at its own interval and offset, at most `maxConcurrent` at
 * once, each within its timeout: a probe that does not answer in time is a failed sample, its work
 * aborted, and the loop goes on. Results leave as ordinary samples through `emit`.
 */
export class HealthProber {
  private readonly probes: ProbeState[];
  private readonly queue: ProbeState[] = [];
  private readonly inFlight = new Set<AbortController>();
  private readonly pools = new SqlPools();
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly timers: Timers;
  private idleWaiters: (() => void)[] = [];
  private active = 0;
  private stopped = true;

  constructor(
    private readonly cfg: HealthChecksConfig,
    private readonly emit: (samples: Sample[]) => void,
    private readonly log: Logger,
    opts: ProberOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.timers = opts.timers ?? realTimers;
    const env = opts.env ?? {};
    this.probes = cfg.probes.map((p) => {
      const key = `${p.name}@${p.stack}/${p.service}`;
      const intervalMs = p.intervalSeconds * 1000;
      return {
        cfg: p,
        key,
        run: this.build(p, env),
        intervalMs,
        offsetMs: offsetOf(key, intervalMs),
        timer: undefined,
        busy: false,
        lastOk: undefined,
        skipped: 0,
      };
    });
  }

  private build(p: ProbeConfig, env: Readonly<Record<string, string | undefined>>): ProbeRun {
    switch (p.kind) {
      case 'tcp':
        return tcpProbe(p);
      case 'tls':
        return tlsProbe(p, this.now);
      case 'http':
        return httpProbe(p);
      case 'integrity':
        return integrityProbe(p, env, this.pools);
    }
  }

  start(): void {
    this.stopped = false;
    for (const ps of this.probes) this.schedule(ps, this.now());
    this.log.info(
      { probes: this.probes.map((ps) => ({ probe: ps.key, layer: layerOf(ps.cfg), everySeconds: ps.cfg.intervalSeconds, offsetMs: ps.offsetMs })) },
      'health checks started',
    );
  }

  /** Timers off, runs in flight aborted, database pools closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const ps of this.probes) if (ps.timer !== undefined) this.timers.clearTimeout(ps.timer);
    this.queue.length = 0;
    for (const c of this.inFlight) c.abort();
    await this.pools.close();
  }

  /** Resolves when no run is queued or in flight (tests: after moving a virtual clock). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The next slot (offset + k x interval) at or after `from`. */
  private schedule(ps: ProbeState, from: number): void {
    const k = Math.ceil((from - ps.offsetMs) / ps.intervalMs);
    const slot = k * ps.intervalMs + ps.offsetMs;
    ps.timer = this.timers.setTimeout(() => this.due(ps, slot), Math.max(0, slot - this.now()));
  }

  private due(ps: ProbeState, slot: number): void {
    if (this.stopped) return;
    // The next slot on the grid, not `now + interval`: a late timer does not make the probe drift.
    this.schedule(ps, Math.max(slot + ps.intervalMs, this.now()));
    if (ps.busy) {
      // Its previous run still waits for a slot (more probes due than maxConcurrent can run): said once per burst.
      if (ps.skipped++ === 0) this.log.warn({ probe: ps.key }, 'health check: the previous run has not finished, this one is skipped (raise maxConcurrent?)');
      return;
    }
    ps.busy = true;
    ps.skipped = 0;
    this.queue.push(ps);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.cfg.maxConcurrent && this.queue.length > 0) {
      const ps = this.queue.shift()!;
      this.active++;
      void this.runOne(ps).finally(() => {
        this.active--;
        ps.busy = false;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async runOne(ps: ProbeState): Promise<void> {
    const started = this.now();
    const t0 = this.monotonic();
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timeoutMs = ps.cfg.timeoutSeconds * 1000;
    let timer: unknown;
    const timedOut = new Promise<ProbeResult>((resolve) => {
      timer = this.timers.setTimeout(() => {
        controller.abort();
        resolve({ ok: false, reason: `timed out after ${ps.cfg.timeoutSeconds} s` });
      }, timeoutMs);
    });
    // The race, not the probe's own cancellation, is what bounds the run: a probe that ignores its
    // signal is abandoned, never waited on.
    const result = await Promise.race([ps.run(controller.signal).catch((e: unknown): ProbeResult => ({ ok: false, reason: reasonOf(e) })), timedOut]);
    this.timers.clearTimeout(timer);
    this.inFlight.delete(controller);
    if (this.stopped) return;
    this.report(ps, result);
    try {
      this.emit(samplesOf(ps.cfg, started, result, this.monotonic() - t0));
    } catch (e) {
      this.log.error({ probe: ps.key, err: reasonOf(e) }, 'health check samples could not be handed on');
    }
  }

  private report(ps: ProbeState, result: ProbeResult): void {
    if (result.ok === ps.lastOk) return;
    const was = ps.lastOk;
    ps.lastOk = result.ok;
    const where = { probe: ps.key, layer: layerOf(ps.cfg), kind: ps.cfg.kind };
    if (!result.ok) this.log.warn({ ...where, reason: result.reason }, 'health check failing');
    else if (was === false) this.log.info(where, 'health check passing again');
  }
}
