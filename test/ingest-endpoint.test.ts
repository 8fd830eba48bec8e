import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarbingerService } from '../src/app/service.js';
import { replayFile } from '../src/app/replay.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { parseLine } from '../src/ingest/record-parser.js';
import type { DecisionEvent, Recommendation } from '../src/domain/decision.js';
import { apiClient } from './support/index.js';

/**
 * POST /v1/ingest reads a body of mixed sample and event lines as replay reads a file: the same
 * parser (`parseLine`) line by line, the same line numbers, the same refusals; and what serve then
 * decides from a recorded incident streamed to it is what replay decides from the file.
 */

const TOKEN = 'api-token-0123456789abcdef';
const log = createLogger('silent');
const running: HarbingerService[] = [];
const raw = (over: Record<string, unknown> = {}) => ({
  server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-ingest-')), wallClockWatermark: false, bodyLimitBytes: 8 * 1024 * 1024 },
  decision: { execution: { approval: 'auto' } },
  ...over,
});

async function start() {
  const config = parseConfig(raw());
  const service = new HarbingerService({ config, log, apiToken: TOKEN });
  const { port } = await service.start();
  running.push(service);
  return { service, http: apiClient(port, TOKEN), dataDir: config.server.dataDir };
}

afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});

describe('POST /v1/ingest', () => {
  it('takes or refuses each line as replay’s parser does, with its line number, and the rest keeps flowing', async () => {
    const { http } = await start();
    const lines = [
      '{"type":"event","ts":"2026-03-02T10:00:00Z","kind":"deployment","id":"d-1","stack":"a","service":"checkout","attributes":{"version":"v2"}}',
      '{"type":"sample","ts":"2026-03-02T10:00:00Z","signal":"latency","metric":"http_p99_ms","stack":"a","service":"checkout","value":120}',
      '',
      // No type: replay refuses it, so /v1/ingest does too (on /v1/samples it would be a sample).
      '{"ts":"2026-03-02T10:00:00Z","signal":"latency","metric":"http_p99_ms","stack":"b","service":"checkout","value":118}',
      '{"type":"sample","ts":1772445600,"signal":"latency","metric":"http_p99_ms","stack":"b","service":"checkout","value":118}',
      '{"type":"sample","ts":"2026-03-02T10:00:00Z","signal":"latency","metric":"http_p99_ms","stack":"b","service":"checkout","value":118}\r',
      '{"type":"sample","ts":"2026-03-02T10:01:00Z","signal":"latency",',
      '{"type":"event","ts":"2026-03-02T10:01:00Z","kind":"deploy","id":"d-2"}',
      '{"type":"sample","ts":"2026-03-02T10:01:00Z","signal":"latency","metric":"http_p99_ms","stack":"a","service":"checkout","value":121}',
    ];
    const r = await http.post('/v1/ingest', `\n${lines.join('\n')}\n`, { headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(200);
    // Line numbers of the body as sent (its first line is blank), reasons exactly as replay gives them.
    const expected = lines
      .map((l, i) => ({ index: i + 2, line: l.replace(/\r$/, '') }))
      .filter((x) => x.line !== '')
      .map((x) => ({ index: x.index, p: parseLine(x.line) }))
      .filter((x) => !x.p.ok)
      .map((x) => ({ index: x.index, reason: (x.p as { reason: string }).reason }));
    expect(r.data.rejected).toEqual(expected);
    expect(r.data.rejected.map((x: { index: number; reason: string }) => [x.index, x.reason.split(':')[0]])).toEqual([
      [5, 'type'],
      [6, 'ts'],
      [8, 'invalid JSON'],
      [9, 'kind'],
    ]);
    expect(r.data).toMatchObject({ accepted: 4, late: 0, rejectedTotal: 4 });
  });

  it('reads a body whose first line starts with [ but is no JSON array as lines, as replay would (found by the fuzz test)', async () => {
    const { http } = await start();
    const sample = '{"type":"sample","ts":"2026-03-02T10:00:00Z","signal":"latency","metric":"http_p99_ms","stack":"a","service":"checkout","value":120}';
    const r = await http.post('/v1/ingest', `[]\n${sample}`, { headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ accepted: 1, rejected: [{ index: 1, reason: 'record must be a JSON object' }] });
    // A body that is one JSON array is still an array of records.
    expect((await http.post('/v1/ingest', `[${sample}]`)).data).toMatchObject({ accepted: 1, rejectedTotal: 0 });
  });

  it('answers 400 when no line is valid, 413 over the body limit, and needs the ingest role', async () => {
    const { http } = await start();
    const bad = await http.post('/v1/ingest', '{"ts":"2026-03-02T10:00:00Z"}\nnot json', { headers: { 'content-type': 'application/x-ndjson' } });
    expect(bad.status).toBe(400);
    expect(bad.data).toMatchObject({ error: 'no valid record in the body', rejectedTotal: 2 });
    const big = await http.post('/v1/ingest', 'x'.repeat(8 * 1024 * 1024 + 1), { headers: { 'content-type': 'application/x-ndjson' } });
    expect(big.status).toBe(413);
    expect((await http.post('/v1/ingest', '[]', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(403);
  });

  it('decides from a fixture streamed in chunks of mixed lines what replay decides from the file', async () => {
    const path = 'fixtures/scenarios/canary-bad-deploy.jsonl';
    const fromReplay: Recommendation[] = [];
    await replayFile(path, {
      config: parseConfig(raw()),
      onEvent: (e) => {
        if (e.type === 'recommendation') fromReplay.push(e);
      },
    });
    const { http, dataDir } = await start();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    for (let i = 0; i < lines.length; i += 4000) {
      const r = await http.post('/v1/ingest', lines.slice(i, i + 4000).join('\n'), { headers: { 'content-type': 'application/x-ndjson' } });
      expect(r.status).toBe(200);
      expect(r.data.rejectedTotal).toBe(0);
    }
    // Replay flushes at the end of the file; serve waits for more data: compare what both have decided an hour before the end.
    const end = Date.parse(JSON.parse(lines[lines.length - 1]!).ts) - 3_600_000;
    const summary = (rs: Recommendation[]) => rs.filter((r) => r.ts < end).map((r) => [r.id, r.action, r.status, r.percent, r.cause.event?.id ?? null]);
    const replayed = summary(fromReplay);
    expect(replayed.some(([, action]) => action === 'rollback' || action === 'shift_traffic')).toBe(true);
    // What serve published (its JSONL feed, appended as it decides), not what its ledger still holds:
    // informational recommendations of resolved incidents are forgotten there after a day.
    const fed = readFileSync(join(dataDir, 'recommendations.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DecisionEvent)
      .filter((e): e is Recommendation => e.type === 'recommendation');
    expect(summary(fed)).toEqual(replayed);
  }, 120_000);
});
