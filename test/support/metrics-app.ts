import { createServer, type Server } from 'node:http';

export interface MetricsApp {
  url: string;
  port: number;
  /** Sets gauge `name{labels}` to `value` (creates the series if needed). */
  set(name: string, labels: Record<string, string>, value: number): void;
  /** Removes series `name{labels}`; Prometheus marks it stale at the next scrape. */
  remove(name: string, labels: Record<string, string>): void;
  /** Current exposition text (what /metrics serves). */
  render(): string;
  /** Number of GET /metrics served so far. */
  scrapeCount(): number;
  stop(): Promise<void>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value per the text exposition format: backslash, double quote, newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

/** A tiny app on 127.0.0.1 serving `/metrics` (gauges only) whose values the test drives. */
export async function startMetricsApp(): Promise<MetricsApp> {
  const gauges = new Map<string, Map<string, { labels: Record<string, string>; value: number }>>();
  let scrapes = 0;

  const render = (): string => {
    let out = '';
    for (const [name, series] of gauges) {
      if (series.size === 0) continue;
      out += `# TYPE ${name} gauge\n`;
      for (const { labels, value } of series.values()) {
        const keys = Object.keys(labels).sort();
        const lbl = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k] ?? '')}"`).join(',')}}`;
        out += `${name}${lbl} ${formatValue(value)}\n`;
      }
    }
    return out;
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && path === '/metrics') {
      scrapes++;
      const body = render();
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(404).end('not found\n');
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('metrics app: no address');
  const port = addr.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    set(name, labels, value) {
      if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
      for (const k of Object.keys(labels)) {
        if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`invalid label name ${k}`);
      }
      let series = gauges.get(name);
      if (series === undefined) {
        series = new Map();
        gauges.set(name, series);
      }
      series.set(seriesKey(labels), { labels: { ...labels }, value });
    },
    remove(name, labels) {
      const series = gauges.get(name);
      series?.delete(seriesKey(labels));
      if (series?.size === 0) gauges.delete(name);
    },
    render,
    scrapeCount: () => scrapes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
