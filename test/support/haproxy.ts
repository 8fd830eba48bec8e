import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HaproxyRuntime } from '../../src/adapters/routing/haproxy-runtime.js';
import { freePort } from './ports.js';
import { looksLikePortInUse, spawnProcess, trackTempDir, waitFor, type ManagedProcess } from './process.js';

export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy';

export interface HaproxyServerSpec {
  /** Server name in the backend (we use the stack name). */
  name: string;
  host?: string; // default 127.0.0.1
  port: number;
  weight: number;
}

export interface HaproxyOptions {
  servers: HaproxyServerSpec[];
  /** Backend name, default `stacks`. */
  backend?: string;
  readyTimeoutMs?: number; // default 15000
}

export interface HaproxyHandle {
  /** Frontend URL, e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Admin-level Runtime API socket. */
  socketPath: string;
  backend: string;
  dir: string;
  configPath: string;
  runtime: HaproxyRuntime;
  logs(): string;
  stop(): Promise<void>;
}

export function buildHaproxyConfig(port: number, socketPath: string, backend: string, servers: HaproxyServerSpec[]): string {
  return [
    'global',
    `    stats socket ${socketPath} mode 600 level admin`,
    '    nbthread 1',
    '',
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout client 10s',
    '    timeout server 10s',
    '',
    'frontend fe',
    `    bind 127.0.0.1:${port}`,
    `    default_backend ${backend}`,
    '',
    `backend ${backend}`,
    '    balance roundrobin',
    ...servers.map((s) => `    server ${s.name} ${s.host ?? '127.0.0.1'}:${s.port} weight ${s.weight}`),
    '',
  ].join('\n');
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts a real HAProxy in the foreground (`-db`) on a free loopback port; resolves once the socket answers. */
export async function startHaproxy(opts: HaproxyOptions): Promise<HaproxyHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-haproxy-'));
  const removeDir = trackTempDir(dir);
  const backend = opts.backend ?? 'stacks';
  const socketPath = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  const runtime = new HaproxyRuntime({ socketPath, timeoutMs: 1000 });
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      await writeFile(configPath, buildHaproxyConfig(port, socketPath, backend, opts.servers));
      const proc: ManagedProcess = spawnProcess('haproxy', HAPROXY_BIN, ['-f', configPath, '-db'], { cwd: dir });
      try {
        await waitFor(async () => (await runtime.command('show info')).includes('Name: HAProxy') && (await tcpOpen(port)), opts.readyTimeoutMs ?? 15_000, {
          description: `haproxy runtime socket ${socketPath} and frontend 127.0.0.1:${port}`,
          intervalMs: 50,
          context: () => `haproxy logs:\n${proc.logs()}\n--- config ---\n${buildHaproxyConfig(port, socketPath, backend, opts.servers)}`,
          abortIf: () => {
            const info = proc.exitInfo();
            return info === undefined ? undefined : `haproxy exited (code ${info.code}, signal ${info.signal})`;
          },
        });
      } catch (err) {
        await proc.stop();
        if (attempt < 3 && (looksLikePortInUse(proc.logs()) || /cannot bind socket/i.test(proc.logs()))) continue;
        throw err;
      }
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        socketPath,
        backend,
        dir,
        configPath,
        runtime,
        logs: () => proc.logs(),
        stop: async () => {
          await proc.stop();
          await removeDir();
        },
      };
    }
  } catch (err) {
    await removeDir();
    throw err;
  }
}

export interface StackServer {
  name: string;
  port: number;
  url: string;
}

export interface StackServers {
  servers: StackServer[];
  /** Requests answered so far, by stack name. */
  hits: Record<string, number>;
  stop(): Promise<void>;
}

/** Starts one tiny HTTP server per stack name on 127.0.0.1; each answers `200 <name>`. */
export async function startStackServers(names: string[]): Promise<StackServers> {
  const hits: Record<string, number> = {};
  const running: { srv: Server; info: StackServer }[] = [];
  try {
    for (const name of names) {
      hits[name] = 0;
      const srv = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          hits[name] = (hits[name] ?? 0) + 1;
          res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Stack': name }).end(name);
        });
      });
      srv.keepAliveTimeout = 1000;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') throw new Error('stack server: no address');
      running.push({ srv, info: { name, port: addr.port, url: `http://127.0.0.1:${addr.port}` } });
    }
  } catch (err) {
    await Promise.all(running.map(({ srv }) => closeServer(srv)));
    throw err;
  }
  return {
    servers: running.map((r) => r.info),
    hits,
    stop: async () => {
      await Promise.all(running.map(({ srv }) => closeServer(srv)));
    },
  };
}

function closeServer(srv: Server): Promise<void> {
  return new Promise((resolve) => {
    srv.close(() => resolve());
    srv.closeAllConnections();
  });
}

/** One GET with keep-alive off (a fresh connection per request); resolves with status and body. */
export function getOnce(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, headers: { Connection: 'close' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sends `n` sequential requests through `url` and counts answers by body (the stack name). */
export async function splitOf(url: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await getOnce(url);
    const key = r.status === 200 ? r.body : `HTTP ${r.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
