import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReportData } from '../src/report/incident-page.js';

// The built CLI, as a user runs it (`npm test` builds first). The browser test renders the page;
// this one checks what the file holds, fast and without a browser.
const CLI = 'dist/src/cli/main.js';

describe('harbinger replay --report', () => {
  it('writes one self-contained page: every incident with its series and recommendations, uPlot inlined, nothing fetched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-report-'));
    const file = join(dir, 'report.html');
    const r = spawnSync(
      process.execPath,
      [CLI, 'replay', 'fixtures/scenarios/bad-deploy.jsonl', '--quiet', '--report', file, '--out', join(dir, 'out.jsonl')],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`report: ${file}`);
    const opened = Number(/incidents opened (\d+)/.exec(r.stdout)?.[1]);
    const html = readFileSync(file, 'utf8');

    // No network: no script, stylesheet or image from anywhere else; the chart library is in the file.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).toContain(readFileSync('node_modules/uplot/dist/uPlot.iife.min.js', 'utf8'));

    // One incident page per incident the replay opened (the client draws a <section> for each).
    const json = /window\.__HARBINGER_REPORT__ = (.*);<\/script>/.exec(html)?.[1];
    const data = JSON.parse(json!) as ReportData;
    expect(opened).toBeGreaterThan(0);
    expect(data.views).toHaveLength(opened);
    expect(new Set(data.views.map((v) => v.incident.id)).size).toBe(opened);

    // The rollback's incident: its series on both stacks from before it opened, the deploy that caused it.
    const rollback = data.views.find((v) => v.recommendations.some((x) => x.action === 'rollback'))!;
    expect(rollback.incident.stack).toBe('us-west-2');
    const errors = rollback.series.filter((s) => s.metric === 'http_error_ratio');
    expect(errors.map((s) => s.stack).sort()).toEqual(['us-east-1', 'us-west-2']);
    for (const s of errors) {
      expect(s.ts[0]).toBeLessThan(rollback.incident.openedAt);
      expect(s.ts).toHaveLength(s.value.length);
    }
    expect(rollback.events.map((e) => e.id)).toContain('deploy-618');
    expect(rollback.recommendations.find((x) => x.action === 'rollback')!.phases).toHaveLength(10);
    // Every recommendation the replay published is on its incident's page, those the ledger has
    // forgotten since (an incident's informational ones, a day after it) included.
    const published = readFileSync(join(dir, 'out.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id: string; incidentId: string })
      .filter((e) => e.type === 'recommendation');
    expect(published.length).toBeGreaterThan(opened);
    const onPages = new Set(data.views.flatMap((v) => v.recommendations.map((x) => `${v.incident.id}/${x.id}`)));
    expect(published.filter((e) => !onPages.has(`${e.incidentId}/${e.id}`)).map((e) => e.id)).toEqual([]);
    // Data cannot close the script element it is embedded in.
    expect(json).not.toContain('</');
  });
});
