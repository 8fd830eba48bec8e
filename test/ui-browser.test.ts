import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import puppeteer, { type Browser } from 'puppeteer-core';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import type { Recommendation } from '../src/domain/decision.js';
import { apiClient, waitFor } from './support/index.js';
import { postNdjson } from './support/ndjson.js';
import { CHROMIUM_BIN, missing } from './support/requires.js';

/**
 * The on-call page in a real browser (Debian's chromium, driven by puppeteer-core) against a
 * running service fed with a recorded incident: sign in, open the incident, read the chart, approve
 * the waiting rollback with the button, find the approval in the audit log. Screenshots go to
 * test-artifacts/ (gitignored) for a human to look at when it fails.
 */
const TOKEN = 'ui-test-token-0123456789';
const ARTIFACTS = 'test-artifacts';
const fixture = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');

describe.skipIf(missing('chromium'))('on-call view in a browser', () => {
  let browser: Browser | undefined;
  let service: HarbingerService | undefined;
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it('plots the incident against its peers with its markers, and the Approve button reaches the audit log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-ui-'));
    const config = parseConfig({
      server: { port: 0, dataDir: dir, wallClockWatermark: false, tickSeconds: 0.2, bodyLimitBytes: 8 * 1024 * 1024 },
      decision: { execution: { approval: 'human' } },
    });
    service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN });
    const { port } = await service.start();
    const http = apiClient(port, TOKEN);
    // Feed until the rollback waits for a human (it would expire after 30 minutes of event time).
    let waiting: Recommendation | undefined;
    for (let i = 0; i < fixture.length && waiting === undefined; i += 500) {
      await postNdjson(http, fixture.slice(i, i + 500));
      waiting = ((await http.get('/v1/recommendations')).data.recommendations as Recommendation[]).find(
        (r) => r.status === 'awaiting_approval' && r.action === 'rollback',
      );
    }
    expect(waiting).toBeDefined();

    // The shell needs no token and holds no data; the series endpoint needs the token.
    const shell = await apiClient(port).get('/ui/');
    expect(shell.status).toBe(200);
    expect(shell.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(shell.data).not.toContain(waiting!.incidentId);
    expect((await apiClient(port).get(`/v1/incidents/${waiting!.incidentId}/series`)).status).toBe(401);

    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await puppeteer.launch({ executablePath: CHROMIUM_BIN, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push((e as Error).message));
    await page.setViewport({ width: 1000, height: 1400 });
    await page.goto(`http://127.0.0.1:${port}/ui/`);
    await page.waitForSelector('form#login');
    await page.type('input[name=token]', TOKEN);
    await page.type('input[name=by]', 'oncall@example.com');
    await page.click('form#login button[type=submit]');
    await page.waitForSelector(`tr[data-incident-id="${waiting!.incidentId}"] a`);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-incidents.png') });
    await page.click(`tr[data-incident-id="${waiting!.incidentId}"] a`);
    await page.waitForSelector('.chart[data-metric="http_error_ratio"] canvas');
    // The token never travels in a URL; it stays in this tab's sessionStorage.
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.evaluate("sessionStorage.getItem('harbinger.token')")).toBe(TOKEN);

    const chart = await page.$eval('.chart[data-metric="http_error_ratio"]', (c) => ({
      count: Number(c.getAttribute('data-series-count')),
      labels: (c.getAttribute('data-series-labels') ?? '').split('|'),
      // uPlot's own legend: one row per series, plus the time axis.
      legendRows: c.querySelectorAll('.u-legend .u-series').length,
      markers: [...(c.parentElement?.querySelectorAll('[data-marker-kind]') ?? [])].map((m) => [m.getAttribute('data-marker-kind'), m.textContent]),
    }));
    expect(chart.labels).toEqual([
      'us-west-2 warn upper',
      'us-west-2 warn lower',
      'us-west-2 expected',
      'us-west-2 (culprit)',
      'us-east-1 (peer)',
      'SLO error_rate > 0.001',
    ]);
    expect(chart.count).toBe(6);
    expect(chart.legendRows).toBe(chart.count + 1);
    const kinds = new Set(chart.markers.map(([k]) => k));
    for (const k of ['opened', 'event', 'recommendation']) expect(kinds, JSON.stringify(chart.markers)).toContain(k);
    expect(chart.markers.some(([k, text]) => k === 'event' && text?.includes('deploy-618'))).toBe(true);
    expect(await page.$$eval('.phase-table tbody tr', (rows) => rows.length)).toBe(10);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-incident.png'), fullPage: true });

    await page.click(`button.approve[data-rec="${waiting!.id}"]`);
    await page.waitForFunction("document.getElementById('flash').textContent.startsWith('approved')");
    await page.waitForSelector(`button.approve[data-rec="${waiting!.id}"]`, { hidden: true });
    await page.screenshot({ path: join(ARTIFACTS, 'ui-approved.png'), fullPage: true });
    expect(errors).toEqual([]);

    await waitFor(async () => readFileSync(join(dir, 'audit.jsonl'), 'utf8').includes('outcome.approved'), 5_000, { description: 'approval in the audit log' });
    const entries = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(entries.find((e) => e.kind === 'outcome.approved')).toMatchObject({ actor: 'oncall@example.com' });
  }, 120_000);
});
