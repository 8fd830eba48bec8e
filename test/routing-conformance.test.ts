import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Recommendation } from '../src/domain/decision.js';
import type { RoutingController } from '../src/adapters/routing/routing-controller.js';
import { WebhookController } from '../src/adapters/routing/webhook-controller.js';
import { HaproxyController } from '../src/adapters/routing/haproxy-controller.js';
import { ROUTING_CONTROLLERS, type ControllerName } from '../src/adapters/routing/registry.js';
import { startRecorder, type Recorder } from './support/webhook-recorder.js';
import { startHaproxy, startStackServers, type HaproxyHandle, type StackServers } from './support/haproxy.js';
import { freePort } from './support/ports.js';
import { missing } from './support/requires.js';

/**
 * The routing-controller contract, run against every controller: a shift takes; the same
 * recommendation applied again changes nothing more (its id is the idempotency key); an
 * unreachable backend is an answer (`ok: false` with the reason), never a rejected promise.
 */
const log = pino({ level: 'silent' });
const shift = (id: string): Recommendation =>
  ({
    type: 'recommendation',
    id,
    ts: Date.UTC(2026, 2, 1, 12),
    incidentId: 'inc-1',
    stack: 'us-west-2',
    service: 'checkout',
    action: 'shift_traffic',
    percent: 20,
    targets: ['us-east-1'],
    confidence: 0.8,
    evidence: { persistence: 1, magnitude: 6, separation: 4, businessImpact: 0, correlation: 1, dataCompleteness: 1, minutesToBreach: 10 },
    requiresApproval: false,
    blockedBy: null,
    status: 'executed',
    reason: 'shift 20 % of traffic from us-west-2 to us-east-1',
    phases: [],
    cause: { kind: 'unknown', reason: 'test' },
    predictedBreachAt: null,
  }) as Recommendation;

interface Subject {
  controller: () => RoutingController;
  /** What the action changed in the world, comparable between calls. */
  world: () => Promise<unknown>;
  /** The same kind of controller pointed at a backend that is not there (none for dry-run: it has no backend). */
  unreachable?: () => Promise<RoutingController>;
  /** Whether applying changes the world (the dry-run controller changes nothing by design). */
  changes: boolean;
}

const covered = new Set<string>();

/** Every controller the configuration can select must have a subject here. */
function conformance(name: ControllerName, subject: () => Subject, skip = false, hasBackend = true): void {
  covered.add(name);
  describe.skipIf(skip)(`routing controller contract: ${name}`, () => {
    it('applies a shift, and the same recommendation again changes nothing more', async () => {
      const s = subject();
      const c = s.controller();
      expect(c.name).toMatch(/^[a-z-]+$/);
      const before = await s.world();
      const first = await c.apply(shift('rec-1'));
      expect(first.ok).toBe(true);
      expect(first.detail.length).toBeGreaterThan(0);
      const after = await s.world();
      if (s.changes) expect(after).not.toEqual(before);
      const again = await c.apply(shift('rec-1'));
      expect(again.ok).toBe(true);
      expect(await s.world()).toEqual(after);
    });

    it.runIf(hasBackend)('answers ok: false with the reason when its backend is unreachable, and never rejects', async () => {
      const c = await subject().unreachable!();
      const r = await c.apply(shift('rec-2'));
      expect(r.ok).toBe(false);
      expect(r.detail.length).toBeGreaterThan(0);
    });
  });
}

conformance(
  'dry-run',
  () => ({ controller: () => ROUTING_CONTROLLERS['dry-run'].create(undefined, { log }), world: async () => 'nothing moves', changes: false }),
  false,
  false,
);

let recorder: Recorder;
beforeAll(async () => {
  recorder = await startRecorder();
});
afterAll(async () => {
  await recorder?.stop();
});
conformance('webhook', () => ({
  // Built as `serve` builds it: from its config section, through the registry.
  controller: () => ROUTING_CONTROLLERS.webhook.create({ url: `${recorder.url}/routing`, timeoutSeconds: 2, retries: 0 }, { log }),
  // The receiving traffic manager applies each Idempotency-Key once: the world is the set of keys it applied.
  world: async () => [...new Set(recorder.requests.map((r) => r.headers['idempotency-key']))].sort(),
  unreachable: async () => new WebhookController({ url: `http://127.0.0.1:${await freePort()}/routing`, timeoutMs: 500, maxAttempts: 1, log }),
  changes: true,
}));

const noHaproxy = missing('haproxy');
let stacks: StackServers | undefined;
let hap: HaproxyHandle | undefined;
beforeAll(async () => {
  if (noHaproxy) return;
  stacks = await startStackServers(['us-east-1', 'us-west-2']);
  hap = await startHaproxy({ servers: stacks.servers.map((s) => ({ name: s.name, port: s.port, weight: 50 })) });
});
afterAll(async () => {
  await hap?.stop();
  await stacks?.stop();
});
conformance(
  'haproxy',
  () => {
    const servers = { 'us-east-1': 'us-east-1', 'us-west-2': 'us-west-2' };
    const ctl = ROUTING_CONTROLLERS.haproxy.create({ socketPath: hap!.socketPath, backend: hap!.backend, servers }, { log });
    return {
      controller: () => ctl,
      world: () => ctl.readWeights(),
      unreachable: async () => new HaproxyController({ socketPath: '/nonexistent/haproxy.sock', backend: hap!.backend, servers, timeoutMs: 500 }),
      changes: true,
    };
  },
  noHaproxy,
);

describe('routing controller registry', () => {
  it('has a conformance subject for every controller routing.controller can select', () => {
    expect([...covered].sort()).toEqual(Object.keys(ROUTING_CONTROLLERS).sort());
  });
});
