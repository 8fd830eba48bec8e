import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AxiosInstance } from 'axios';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { verifyChain } from '../src/core/audit/hash-chain.js';
import type { Recommendation } from '../src/domain/decision.js';
import { apiClient, spawnServe, trackTempDir, type ManagedProcess } from './support/index.js';
import { postNdjson } from './support/ndjson.js';

/**
 * What was answered 2xx survives SIGKILL, and what was executed is executed once: a serve process
 * is killed right after it executed an action, with nothing checkpointed since it started (all of
 * its state is in the write-ahead log), restarted on the same data directory, sent only what it
 * had not acknowledged, and compared with a run that was never killed.
 */
const TOKEN = 'crash-test-token-0123456789';
const fixture = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');
const CHUNK = 1000;
const chunks = Array.from({ length: Math.ceil(fixture.length / CHUNK) }, (_, i) => fixture.slice(i * CHUNK, (i + 1) * CHUNK));
// Auto-approval so actions execute; no wall clock (event time only) and no checkpoint during the run.
const settings = {
  decision: { execution: { approval: 'auto' } },
  server: { wallClockWatermark: false, checkpointIntervalSeconds: 3600, bodyLimitBytes: 8 * 1024 * 1024 },
};
const key = (r: Recommendation): string => `${r.id} ${r.action} ${r.status} ${r.percent} ${r.targets.join(',')}`;

/** Posts one chunk in input order (samples and events interleaved). */
const postChunk = (http: AxiosInstance, lines: string[]): Promise<void> => postNdjson(http, lines, lines.length);

const client = (port: number): AxiosInstance => apiClient(port, TOKEN);

const processes: ManagedProcess[] = [];
afterAll(async () => {
  for (const p of processes) await p.stop();
});

describe('crash safety of harbinger serve', () => {
  it('after a SIGKILL right after an execution, a restart reaches the uninterrupted run: same recommendations, each action executed once', async () => {
    // The run that never died, in process.
    const refDir = mkdtempSync(join(tmpdir(), 'hb-ref-'));
    trackTempDir(refDir);
    const ref = new HarbingerService({
      config: parseConfig({ ...settings, server: { ...settings.server, port: 0, dataDir: refDir } }),
      log: createLogger('silent'),
      apiToken: TOKEN,
    });
    const { port: refPort } = await ref.start();
    for (const c of chunks) await postChunk(client(refPort), c);
    const expected = (await client(refPort).get('/v1/recommendations')).data.recommendations as Recommendation[];
    await ref.stop();
    expect(expected.some((r) => r.status === 'executed')).toBe(true);

    // The same input to a process that is killed once it has executed something.
    const dir = mkdtempSync(join(tmpdir(), 'hb-crash-'));
    trackTempDir(dir);
    const cfgFile = join(dir, 'harbinger.json');
    writeFileSync(cfgFile, JSON.stringify(settings));
    const start = (name: string) => spawnServe(name, { config: cfgFile, dataDir: join(dir, 'data'), env: { HARBINGER_API_TOKEN: TOKEN } });
    const first = await start('serve-1');
    processes.push(first.proc);
    let sent = 0;
    while (sent < chunks.length) {
      await postChunk(client(first.port), chunks[sent]!);
      sent++;
      const recs = (await client(first.port).get('/v1/recommendations')).data.recommendations as Recommendation[];
      if (recs.some((r) => r.status === 'executed')) break;
    }
    expect(sent).toBeLessThan(chunks.length);
    process.kill(first.proc.pid!, 'SIGKILL');
    await first.proc.exited;
    expect(first.proc.exitInfo()?.signal).toBe('SIGKILL');

    const second = await start('serve-2');
    processes.push(second.proc);
    // Everything acknowledged before the kill is there again, without resending it.
    const recovered = (await client(second.port).get('/v1/recommendations')).data.recommendations as Recommendation[];
    expect(recovered.some((r) => r.status === 'executed')).toBe(true);
    for (let i = sent; i < chunks.length; i++) await postChunk(client(second.port), chunks[i]!);
    const got = (await client(second.port).get('/v1/recommendations')).data.recommendations as Recommendation[];
    expect(got.map(key).sort()).toEqual(expected.map(key).sort());
    await second.proc.stop();

    // Each executed action reached the controller exactly once, and the audit log is one intact chain.
    const audit = readFileSync(join(dir, 'data', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(verifyChain(audit).ok).toBe(true);
    const entries = audit.map((l) => JSON.parse(l) as { kind: string; payload: { id?: string; recommendationId?: string } });
    const executed = expected.filter((r) => r.status === 'executed').map((r) => r.id);
    for (const id of executed) {
      expect(entries.filter((e) => e.kind === 'recommendation.executed' && e.payload.id === id)).toHaveLength(1);
      expect(entries.filter((e) => e.kind === 'execution.applied' && e.payload.recommendationId === id)).toHaveLength(1);
    }
  }, 180_000);
});
