import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recommendation } from '../src/domain/decision.js';
import { HAPROXY_ONLY_SHIFTS, HaproxyController } from '../src/adapters/routing/haproxy-controller.js';
import { HaproxyRuntime, HaproxyRuntimeError } from '../src/adapters/routing/haproxy-runtime.js';
import { splitOf, startHaproxy, startStackServers, type HaproxyHandle, type StackServers } from './support/haproxy.js';
import { missing } from './support/requires.js';

function rec(over: Partial<Recommendation> = {}): Recommendation {
  return {
    type: 'recommendation',
    id: 'inc-checkout-us-west-2-r1',
    ts: Date.UTC(2025, 0, 1, 12, 0, 0),
    incidentId: 'inc-checkout-us-west-2',
    stack: 'us-west-2',
    service: 'checkout',
    action: 'shift_traffic',
    percent: 20,
    targets: ['us-east-1'],
    confidence: 0.9,
    evidence: { persistence: 1, magnitude: 6, separation: 4, businessImpact: 1, correlation: 1, dataCompleteness: 1, minutesToBreach: 0 },
    requiresApproval: true,
    blockedBy: null,
    status: 'executed',
    reason: 'shift 20 % from us-west-2 to us-east-1',
    phases: [],
    cause: { kind: 'deployment', reason: 'deploy v42' },
    predictedBreachAt: null,
    ...over,
  };
}

const STACKS = ['us-east-1', 'us-west-2'];

const appliedPath = join(mkdtempSync(join(tmpdir(), 'hb-haproxy-')), 'haproxy-applied.json');

describe.skipIf(missing('haproxy'))('HAProxy runtime + controller against a real HAProxy', () => {
  let stacks: StackServers;
  let hap: HaproxyHandle;
  let ctl: HaproxyController;

  beforeAll(async () => {
    stacks = await startStackServers(STACKS);
    hap = await startHaproxy({ servers: stacks.servers.map((s) => ({ name: s.name, port: s.port, weight: 50 })) });
    ctl = new HaproxyController({
      socketPath: hap.socketPath,
      backend: hap.backend,
      servers: { 'us-east-1': 'us-east-1', 'us-west-2': 'us-west-2' },
      appliedPath,
    });
  });

  afterAll(async () => {
    await hap?.stop();
    await stacks?.stop();
  });

  it('runtime client: get weight parses "N (initial M)", show servers lists both, errors throw with HAProxy\'s text', async () => {
    expect(await hap.runtime.getWeight('stacks', 'us-east-1')).toEqual({ current: 50, initial: 50 });
    const servers = await hap.runtime.showServers('stacks');
    expect(servers.map((s) => [s.name, s.weight, s.initialWeight])).toEqual([
      ['us-east-1', 50, 50],
      ['us-west-2', 50, 50],
    ]);
    await expect(hap.runtime.getWeight('stacks', 'nope')).rejects.toThrow(HaproxyRuntimeError);
    await expect(hap.runtime.setWeight('stacks', 'nope', 10)).rejects.toThrow(/set weight stacks\/nope 10: .+/);
    await expect(hap.runtime.setWeight('stacks', 'us-east-1;disable', 10)).rejects.toThrow(/invalid server name/);
    await expect(hap.runtime.setWeight('stacks', 'us-east-1', 300)).rejects.toThrow(/0\.\.256/);
  });

  it('50/50 → 100/100; shift 20 % off us-west-2 → 140/60; revert → 100/100', async () => {
    expect(await splitOf(hap.url, 200)).toEqual({ 'us-east-1': 100, 'us-west-2': 100 });

    const shift = rec();
    const r1 = await ctl.apply(shift);
    expect(r1.ok, r1.detail).toBe(true);
    expect(r1.weights).toEqual({ 'us-east-1': 70, 'us-west-2': 30 });
    expect(r1.detail).toContain('us-east-1=50 us-west-2=50 → us-east-1=70 us-west-2=30');
    expect(await hap.runtime.getWeight('stacks', 'us-west-2')).toEqual({ current: 30, initial: 50 });

    const after = await splitOf(hap.url, 200);
    expect(Math.abs((after['us-east-1'] ?? 0) - 140)).toBeLessThanOrEqual(2);
    expect(Math.abs((after['us-west-2'] ?? 0) - 60)).toBeLessThanOrEqual(2);
    expect((after['us-east-1'] ?? 0) + (after['us-west-2'] ?? 0)).toBe(200);

    // A replay of the same recommendation is not applied twice, by this controller nor by one
    // started after a restart on the same state file (a shift is relative to the weights now).
    const again = await ctl.apply(shift);
    expect(again.ok).toBe(true);
    expect(again.detail).toMatch(/already applied/);
    const restarted = new HaproxyController({
      socketPath: hap.socketPath,
      backend: hap.backend,
      servers: { 'us-east-1': 'us-east-1', 'us-west-2': 'us-west-2' },
      appliedPath,
    });
    const resent = await restarted.apply(shift);
    expect(resent.detail).toMatch(/already applied/);
    expect(await ctl.readWeights()).toEqual({ 'us-east-1': 70, 'us-west-2': 30 });

    const revert = rec({ id: 'inc-checkout-us-west-2-r2', stack: 'us-east-1', targets: ['us-west-2'], percent: 20, reverts: shift.id });
    const r2 = await ctl.apply(revert);
    expect(r2.ok, r2.detail).toBe(true);
    expect(r2.weights).toEqual({ 'us-east-1': 50, 'us-west-2': 50 });
    expect(r2.detail).toContain(`revert of ${shift.id}`);
    expect(await splitOf(hap.url, 200)).toEqual({ 'us-east-1': 100, 'us-west-2': 100 });
  });

  it('drains a stack to weight 0 (capped at what it has) and takes no traffic there', async () => {
    const r = await ctl.apply(rec({ id: 'drain-1', percent: 80 }));
    expect(r.ok, r.detail).toBe(true);
    expect(r.weights).toEqual({ 'us-east-1': 100, 'us-west-2': 0 });
    expect(await splitOf(hap.url, 20)).toEqual({ 'us-east-1': 20 });
    const back = await ctl.apply(rec({ id: 'drain-1-revert', stack: 'us-east-1', targets: ['us-west-2'], percent: 50, reverts: 'drain-1' }));
    expect(back.weights).toEqual({ 'us-east-1': 50, 'us-west-2': 50 });
  });

  it("rollback / pause_rollout are not a load balancer's job; unmapped stacks are refused", async () => {
    expect(await ctl.apply(rec({ id: 'rb', action: 'rollback' }))).toEqual({ ok: false, detail: HAPROXY_ONLY_SHIFTS });
    expect(await ctl.apply(rec({ id: 'pr', action: 'pause_rollout' }))).toEqual({ ok: false, detail: HAPROXY_ONLY_SHIFTS });
    const unknown = await ctl.apply(rec({ id: 'u', targets: ['eu-west-1'] }));
    expect(unknown.ok).toBe(false);
    expect(unknown.detail).toMatch(/no server mapped for stack\(s\) eu-west-1/);
    expect(await ctl.readWeights()).toEqual({ 'us-east-1': 50, 'us-west-2': 50 });
  });

  it("a server name HAProxy does not know: ok:false with HAProxy's error, weights untouched", async () => {
    const bad = new HaproxyController({ socketPath: hap.socketPath, backend: 'stacks', servers: { 'us-east-1': 'us-east-1', 'us-west-2': 'usw2-typo' } });
    const r = await bad.apply(rec({ id: 'typo' }));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/get weight stacks\/usw2-typo: /);
    expect(await ctl.readWeights()).toEqual({ 'us-east-1': 50, 'us-west-2': 50 });
  });
});

describe('HaproxyController without HAProxy', () => {
  it('socket missing → ok:false with a clear detail, never throws', async () => {
    const socketPath = join(tmpdir(), `harbinger-no-such-${process.pid}.sock`);
    const ctl = new HaproxyController({ socketPath, backend: 'stacks', servers: { a: 'a', b: 'b' }, timeoutMs: 500 });
    const r = await ctl.apply(rec({ stack: 'a', targets: ['b'] }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain(socketPath);
    expect(r.detail).toMatch(/socket does not exist/);
    await expect(new HaproxyRuntime({ socketPath }).getWeight('stacks', 'a')).rejects.toThrow(/does not exist/);
  });
});
