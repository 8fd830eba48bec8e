import { test, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import { ensureKafkaJars } from './support/kafka/broker.js';
test('race', async () => {
  const t = Date.now();
  const [a, b] = await Promise.all([ensureKafkaJars({ cacheDir: '/tmp/kprobe/race/k' }), ensureKafkaJars({ cacheDir: '/tmp/kprobe/race/k' })]);
  console.error('race ms', Date.now() - t);
  expect(a).toBe(b);
  console.error(readdirSync('/tmp/kprobe/race'), readdirSync(a).length);
}, 300_000);
