import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ControllerContext } from './controller-context.js';
import { writeFileAtomic } from '../file/durable-file.js';
import type { Recommendation } from '../../domain/decision.js';
import type { Logger } from '../log/logger.js';
import { HaproxyRuntime } from './haproxy-runtime.js';
import type { RoutingController, RoutingResult } from './routing-controller.js';
import { shiftWeights } from './weights.js';

export interface HaproxyControllerOptions {
  /** Admin-level stats socket (`stats socket <path> mode 600 level admin`). */
  socketPath: string;
  /** The backend whose servers are the stacks, e.g. `stacks`. */
  backend: string;
  /** Stack name → HAProxy server name in `backend`, e.g. `{ 'us-east-1': 'use1' }`. */
  servers: Record<string, string>;
  /** Per-command timeout, default 2000 ms. */
  timeoutMs?: number;
  log?: Logger;
  /**
   * Where the ids of applied recommendations are kept (JSON), so one re-sent after a restart is
   * not applied twice: a shift is relative to the weights HAProxy has now. In memory only when unset.
   */
  appliedPath?: string;
}

/** Applied recommendations remembered (oldest forgotten first): far more than a freeze window sees. */
const APPLIED_KEPT = 1000;

/** HAProxy reads the weights back after the action: they are in the result whenever they could be read. */
export type HaproxyApplyResult = RoutingResult;

export const HAPROXY_ONLY_SHIFTS = 'haproxy controller only shifts traffic; rollback needs a deploy tool (use the webhook controller)';
/** A load balancer moves traffic; it cannot add servers. */
export const HAPROXY_CANNOT_SCALE =
  'haproxy controller cannot add capacity: deliver pre_scale through the webhook controller to your autoscaler, or set decision.predictive.actions: [pre_route]';

/**
 * Shifts traffic between stacks by changing server weights in one HAProxy backend through the
 * Runtime API. Only the mapped servers are touched; their weights are written as integer percents
 * (0..100) of the mapped servers' total, so `get weight` reads as the traffic split.
 *
 * Never throws: every failure becomes `{ ok: false, detail }`.
 * Replays of an already-applied recommendation id are not applied twice (remembered in
 * `appliedPath` across restarts, since a shift is relative to the weights HAProxy has now).
 */
export class HaproxyController implements RoutingController {
  readonly name = 'haproxy';
  private readonly runtime: HaproxyRuntime;
  private readonly applied = new Map<string, Record<string, number>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: HaproxyControllerOptions) {
    if (Object.keys(opts.servers).length < 2) throw new Error('haproxy controller: map at least two stacks to servers');
    this.runtime = new HaproxyRuntime({ socketPath: opts.socketPath, timeoutMs: opts.timeoutMs });
    if (opts.appliedPath !== undefined && existsSync(opts.appliedPath)) {
      try {
        for (const [id, w] of JSON.parse(readFileSync(opts.appliedPath, 'utf8')) as [string, Record<string, number>][]) this.applied.set(id, w);
      } catch (e) {
        opts.log?.warn({ path: opts.appliedPath, err: (e as Error).message }, 'haproxy: applied-recommendations file unreadable; starting without it');
      }
    }
  }

  private remember(id: string, weights: Record<string, number>): void {
    this.applied.set(id, weights);
    if (this.applied.size > APPLIED_KEPT) this.applied.delete(this.applied.keys().next().value!);
    if (this.opts.appliedPath === undefined) return;
    // Durable before the caller hears it was applied: a crash right after must not replay it.
    writeFileAtomic(this.opts.appliedPath, JSON.stringify([...this.applied]));
  }

  /** Current weights per mapped stack, as HAProxy reports them. */
  async readWeights(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [stack, server] of Object.entries(this.opts.servers)) out[stack] = (await this.runtime.getWeight(this.opts.backend, server)).current;
    return out;
  }

  apply(rec: Recommendation): Promise<HaproxyApplyResult> {
    // One change at a time: read-modify-write must not interleave.
    const run = this.queue.then(() => this.applyNow(rec));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async restore(stacks: string[], before: Record<string, number>): Promise<string> {
    if (stacks.length === 0) return 'no weight was changed';
    const failed: string[] = [];
    for (const s of [...stacks].reverse()) {
      try {
        await this.runtime.setWeight(this.opts.backend, this.opts.servers[s]!, before[s]!);
      } catch {
        failed.push(s);
      }
    }
    return failed.length === 0
      ? `restored ${stacks.join(', ')} to ${weightsText(before)}`
      : `could not restore ${failed.join(', ')}: check the backend by hand`;
  }

  private async applyNow(rec: Recommendation): Promise<HaproxyApplyResult> {
    try {
      if (rec.action !== 'shift_traffic') {
        if (rec.action === 'rollback' || rec.action === 'pause_rollout') return { ok: false, detail: HAPROXY_ONLY_SHIFTS };
        if (rec.action === 'pre_scale') return { ok: false, detail: HAPROXY_CANNOT_SCALE };
        return { ok: false, detail: `haproxy controller: "${rec.action}" is not an action, nothing to apply` };
      }
      const previous = this.applied.get(rec.id);
      if (previous !== undefined)
        return { ok: true, detail: `haproxy: ${rec.id} already applied (${weightsText(previous)}); not applied twice`, weights: previous };

      const known = Object.keys(this.opts.servers);
      const unknown = [rec.stack, ...rec.targets].filter((s) => !known.includes(s));
      if (unknown.length > 0) return { ok: false, detail: `haproxy: no server mapped for stack(s) ${unknown.join(', ')} (mapped: ${known.join(', ')})` };

      const before = await this.readWeights();
      const after = shiftWeights(before, rec.stack, rec.targets, rec.percent);

      // Raise first, lower last, so the backend's total capacity never dips mid-change.
      const changes = known.filter((s) => after[s] !== before[s]).sort((a, b) => after[b]! - before[b]! - (after[a]! - before[a]!));
      const done: string[] = [];
      try {
        for (const s of changes) {
          await this.runtime.setWeight(this.opts.backend, this.opts.servers[s]!, after[s]!);
          done.push(s);
        }
      } catch (e) {
        // Half a shift is worse than none: put back what was already changed (best effort).
        const restore = await this.restore(done, before);
        return { ok: false, detail: `haproxy: ${(e as Error).message}; ${restore}` };
      }

      const readBack = await this.readWeights();
      const mismatch = known.filter((s) => readBack[s] !== after[s]);
      if (mismatch.length > 0) {
        return {
          ok: false,
          detail: `haproxy: weights did not take: wanted ${weightsText(after)}, HAProxy reports ${weightsText(readBack)}`,
          weights: readBack,
        };
      }
      this.remember(rec.id, readBack);
      const detail = `haproxy ${this.opts.backend}: ${rec.reverts !== undefined ? `revert of ${rec.reverts}, ` : ''}moved ${rec.percent} % from ${rec.stack} to ${rec.targets.join(', ')}: ${weightsText(before)} → ${weightsText(readBack)}`;
      this.opts.log?.info({ recommendation: rec.id, backend: this.opts.backend, before, after: readBack }, detail);
      return { ok: true, detail, weights: readBack };
    } catch (e) {
      const detail = `haproxy: ${(e as Error).message}`;
      this.opts.log?.warn({ recommendation: rec.id, backend: this.opts.backend }, detail);
      return { ok: false, detail };
    }
  }
}

function weightsText(w: Record<string, number>): string {
  return Object.entries(w)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** `routing.haproxy`: the runtime API socket, and which server of which backend each stack is. */
export const haproxySection = z.strictObject({
  /** HAProxy's stats socket with `level admin`. */
  socketPath: z.string().min(1),
  backend: z.string().min(1),
  /** Harbinger stack → HAProxy server name in that backend. */
  servers: z.record(z.string(), z.string()),
});

/** The HAProxy controller from its config section; what it applied is remembered in <dataDir>/haproxy-applied.json. */
export function haproxyFromConfig(section: z.infer<typeof haproxySection>, ctx: ControllerContext): HaproxyController {
  return new HaproxyController({
    socketPath: section.socketPath,
    backend: section.backend,
    servers: section.servers,
    log: ctx.log,
    ...(ctx.dataDir !== undefined ? { appliedPath: join(ctx.dataDir, 'haproxy-applied.json') } : {}),
  });
}
