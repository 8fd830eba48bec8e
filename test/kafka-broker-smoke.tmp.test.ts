import { test } from 'vitest';
import { startKafka } from './support/kafka/broker.js';
test('smoke', async () => {
  let t = Date.now();
  const b = await startKafka({ jarsDir: '/tmp/kprobe/jars' });
  console.error('start', Date.now() - t, b.brokers, b.dataDir);
  await b.createTopics([{ topic: 'x', numPartitions: 3 }]);
  t = Date.now(); await b.kill(); console.error('kill', Date.now() - t);
  console.error('=====RESTART', new Date().toISOString());
  t = Date.now(); await b.restart(); console.error('restart-after-kill', Date.now() - t);
  await b.cleanup();
}, 300_000);
