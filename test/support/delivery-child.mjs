// A process that accepts routing webhook calls into a durable outbox and is then SIGKILLed by
// test/delivery-stage.test.ts. Runs the dist build (npm run build first), as the chaos tests do.
// argv: outboxPath url count. Prints "queued <n>" once every call is in the outbox.
import { WebhookController } from '../../dist/src/adapters/routing/webhook-controller.js';

const [outboxPath, url, count] = process.argv.slice(2);
const controller = new WebhookController({ url, outboxPath, maxAttempts: 1000, baseDelayMs: 20, maxDelayMs: 100 });
for (let i = 0; i < Number(count); i++) {
  void controller.apply({
    type: 'recommendation',
    id: `rec-${String(i).padStart(3, '0')}`,
    ts: Date.UTC(2026, 2, 1, 12, i),
    incidentId: 'inc-1',
    stack: 'us-west-2',
    service: 'checkout',
    action: 'shift_traffic',
    percent: 10 + i,
    targets: ['us-east-1'],
    confidence: 0.8,
    evidence: {},
    requiresApproval: false,
    blockedBy: null,
    status: 'executed',
    reason: `shift ${10 + i} % of traffic from us-west-2 to us-east-1`,
    phases: [],
    cause: { kind: 'unknown', reason: 'test' },
    predictedBreachAt: null,
  });
}
process.stdout.write(`queued ${count}\n`);
setInterval(() => {}, 60_000); // stays up, retrying, until it is killed
