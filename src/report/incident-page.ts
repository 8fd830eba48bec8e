import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncidentView } from '../core/incident/incident-trail.js';
import { CLIENT_JS } from './incident-client.js';

/**
 * The incident pages as one HTML document: `replay --report` embeds the incidents (a file that
 * opens with no network, for post-mortems and for sharing a fixture's outcome), `serve` sends the
 * same page without data as /ui/ and the script fetches it with the user's token.
 *
 * The chart library is uPlot (a dependency, not a devDependency, because serve and replay inline
 * it at run time): ~50 KB minified, no dependencies of its own, canvas-drawn so thousands of points
 * stay fast, and it formats time axes with the browser's Date, i.e. in the viewer's time zone.
 * It is read from node_modules and inlined, never loaded from a CDN: the report must open offline
 * and the on-call page must not depend on a third party in an outage.
 */

export interface ReportData {
  /** What was replayed (a file name), shown at the top. */
  source: string;
  views: IncidentView[];
}

const require = createRequire(import.meta.url);
let uplot: { js: string; css: string } | undefined;
function uPlotAssets(): { js: string; css: string } {
  uplot ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplot;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 960px; padding: 0 16px 48px; color: #222; }
header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
section.incident { border-top: 3px solid #d62728; margin-top: 32px; }
.muted { color: #777; } .error { color: #b10026; } .waiting, .status-awaiting_approval { color: #b35900; font-weight: 600; }
.phase-fail td, .phase-stop td { color: #b10026; } .phase-pass td:nth-child(3) { color: #2ca02c; }
ul.markers { list-style: none; padding: 0; font-size: 12px; columns: 2; }
ul.markers li { border-left: 3px solid; padding-left: 6px; margin: 2px 0; }
button { margin-right: 4px; } button.approve { background: #2ca02c; color: #fff; border: 0; padding: 3px 10px; }
button.reject { background: #fff; border: 1px solid #b10026; color: #b10026; padding: 2px 10px; }
form#login { display: grid; gap: 8px; max-width: 360px; margin-top: 32px; }
#flash { color: #b35900; min-height: 1.4em; }
`;

/** A JSON value inside <script>: `<` escaped so no string in the data can close the script element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

export interface IncidentPage {
  html: string;
  /** For serve: only these scripts run, nothing is framed, the page talks to its own origin only. */
  contentSecurityPolicy: string;
}

/** `data` present: a self-contained report; absent: the live /ui/ shell, which holds no data. */
export function renderIncidentPage(data?: ReportData): IncidentPage {
  const { js, css } = uPlotAssets();
  const scripts = [js, ...(data !== undefined ? [`window.__HARBINGER_REPORT__ = ${scriptJson(data)};`] : []), CLIENT_JS];
  const title = data !== undefined ? `Harbinger report: ${data.source}` : 'Harbinger on-call';
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css}</style><style>${STYLE}</style>`,
    '</head><body>',
    `<header><h1>${escapeHtml(title)}</h1><span class="muted" id="updated"></span></header>`,
    '<div id="flash"></div><main id="app"></main>',
    ...scripts.map((s) => `<script>${s}</script>`),
    '</body></html>',
  ].join('\n');
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(' ')}`,
    // uPlot positions its legend and cursor with inline styles.
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
