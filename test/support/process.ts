import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { freePort } from './ports.js';

/** Keeps the last `capacity` lines written to it (partial last line included). */
export class RingBuffer {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly capacity = 200) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.capacity) this.lines.shift();
    }
  }

  toString(): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return all.join('\n');
  }
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** Exit code / signal once the process ended; `undefined` while running. */
  exitInfo(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<void>;
  /** Last ~200 lines of interleaved stdout/stderr. */
  logs(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5000); resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Ring buffer size in lines (default 200). */
  logLines?: number;
  /** Also echo output to this process's stderr (default: env HARBINGER_TEST_ECHO === '1'). */
  echo?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Children must never outlive the test run. Three layers:
//  1. callers stop() them in afterAll;
//  2. a process 'exit' hook SIGKILLs whatever is still alive (sync, so it works inside 'exit');
//  3. on Linux the child is exec'd through `setpriv --pdeathsig KILL`, so the kernel kills it
//     even if this (vitest worker) process dies from SIGKILL and no JS hook can run.
// SIGINT/SIGTERM/SIGHUP only reach the 'exit' hook if someone exits the process, so we also
// kill children on those signals and then re-raise the signal with its default action.
// ---------------------------------------------------------------------------------------------
const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
  if (process.env.HARBINGER_KEEP_TMP === '1') return;
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      /* best effort */
    }
  }
  tempDirs.clear();
}

/**
 * Registers a temp dir to be removed on process exit if its owner never got to clean up.
 * Returns a function that removes the dir now (unless HARBINGER_KEEP_TMP=1) and unregisters it.
 */
export function trackTempDir(dir: string): () => Promise<void> {
  installHooks();
  tempDirs.add(dir);
  return async () => {
    tempDirs.delete(dir);
    if (process.env.HARBINGER_KEEP_TMP !== '1') await rm(dir, { recursive: true, force: true });
  };
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllSync();
      // Only take over the default action if nobody else handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    // Register only when nobody else listens, so we do not change an existing handler's semantics.
    if (process.listenerCount(sig) === 0) process.once(sig, onSignal);
  }
}

const SETPRIV = '/usr/bin/setpriv';
const usePdeathsig = process.platform === 'linux' && existsSync(SETPRIV);

/** Spawns `command args...` without a shell and keeps its output for error messages. */
export function spawnProcess(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  installHooks();
  const ring = new RingBuffer(opts.logLines ?? 200);
  const echo = opts.echo ?? process.env.HARBINGER_TEST_ECHO === '1';
  const [file, argv] = usePdeathsig ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
  const child = spawn(file, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: false,
  });
  live.add(child);

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    ring.push(text);
    if (echo) process.stderr.write(`[${name}] ${text}`);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      ring.push(`\n[harness] failed to spawn ${command}: ${err.message}\n`);
      exit ??= { code: null, signal: null };
      live.delete(child);
      resolve();
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const escalate = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (exit === undefined) child.kill('SIGKILL');
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, escalate]);
      clearTimeout(timer);
      await exited;
    })();
    return stopping;
  };

  return {
    name,
    pid: child.pid,
    exitInfo: () => exit,
    exited,
    logs: () => ring.toString(),
    stop,
  };
}

export type Probe<T> = string | (() => T | Promise<T>);

export interface WaitForOptions {
  /** Poll interval in ms (default 100). */
  intervalMs?: number;
  /** What we are waiting for, for the error message. */
  description?: string;
  /** Extra context (e.g. process logs) appended to the timeout error. */
  context?: () => string;
  /** Give up early (e.g. when the process under test has exited); returns a reason or undefined. */
  abortIf?: () => string | undefined;
}

/**
 * Polls until `probe` succeeds and returns its value.
 *  - URL string: succeeds when `GET url` answers 2xx; resolves to the Response.
 *  - function: succeeds when it returns a truthy value (thrown errors count as "not yet");
 *    resolves to that value.
 * Throws after `timeoutMs` with the last error/status and `context()` in the message.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs: number, opts?: WaitForOptions): Promise<NonNullable<T>>;
export async function waitFor(probe: string, timeoutMs: number, opts?: WaitForOptions): Promise<Response>;
export async function waitFor<T>(probe: Probe<T>, timeoutMs: number, opts: WaitForOptions = {}): Promise<unknown> {
  const interval = opts.intervalMs ?? 100;
  const description = opts.description ?? (typeof probe === 'string' ? `GET ${probe} to answer 2xx` : 'condition');
  const deadline = Date.now() + timeoutMs;
  let last = 'never evaluated';
  for (;;) {
    const aborted = opts.abortIf?.();
    if (aborted !== undefined) {
      throw new Error(`waitFor(${description}) aborted: ${aborted}${formatContext(opts)}`);
    }
    try {
      if (typeof probe === 'string') {
        const res = await fetch(probe, { signal: AbortSignal.timeout(Math.max(500, Math.min(5000, deadline - Date.now()))) });
        if (res.ok) return res;
        last = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
      } else {
        const value = await probe();
        if (value) return value;
        last = `falsy result (${String(value)})`;
      }
    } catch (err) {
      last = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(`waitFor(${description}) timed out after ${timeoutMs} ms; last: ${last}${formatContext(opts)}`);
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
}

function formatContext(opts: WaitForOptions): string {
  const ctx = opts.context?.();
  return ctx ? `\n--- context ---\n${ctx}` : '';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `GET url` answers 2xx, failing fast (with logs) if the process exits. */
export async function waitForReady(proc: ManagedProcess, url: string, timeoutMs: number): Promise<void> {
  await waitFor(url, timeoutMs, {
    description: `${proc.name} ${url}`,
    intervalMs: 100,
    context: () => `${proc.name} logs (last lines):\n${proc.logs()}`,
    abortIf: () => {
      const info = proc.exitInfo();
      return info === undefined ? undefined : `${proc.name} exited (code ${info.code}, signal ${info.signal})`;
    },
  });
}

/** True when the logs say the listen port was taken (caller should retry with another port). */
export function looksLikePortInUse(logs: string): boolean {
  return /address already in use/i.test(logs);
}

export interface ListeningSpec {
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Picks a free loopback port, spawns `build(port)` and waits until `readyUrl(port)` answers 2xx.
 * If the process dies because the port was grabbed in between (a race `freePort` cannot
 * exclude), it retries with a new port. On failure the process is stopped and the error carries
 * the process logs.
 */
export async function spawnListening(
  name: string,
  build: (port: number) => ListeningSpec,
  readyUrl: (port: number) => string,
  timeoutMs: number,
  attempts = 3,
): Promise<{ proc: ManagedProcess; port: number }> {
  for (let i = 1; ; i++) {
    const port = await freePort();
    const spec = build(port);
    const proc = spawnProcess(name, spec.command, spec.args, { cwd: spec.cwd, env: spec.env });
    try {
      await waitForReady(proc, readyUrl(port), timeoutMs);
      return { proc, port };
    } catch (err) {
      await proc.stop();
      if (i < attempts && looksLikePortInUse(proc.logs())) continue;
      throw err;
    }
  }
}

/** `--flag=value` → `--flag`: an extra argument replaces a default of the same name. */
export function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return eq === -1 ? arg : arg.slice(0, eq);
}

/**
 * Starts a loopback daemon (Prometheus, Alertmanager) on a free port with default flags that
 * `extra` may override by name, and waits for `readyPath`.
 */
export async function spawnDaemon(opts: {
  name: string;
  bin: string;
  dir: string;
  defaults: (port: number) => string[];
  extra?: readonly string[];
  readyPath: string;
  readyTimeoutMs?: number;
}): Promise<{ proc: ManagedProcess; port: number }> {
  const extra = opts.extra ?? [];
  const overridden = new Set(extra.map(flagName));
  return spawnListening(
    opts.name,
    (p) => ({ command: opts.bin, args: [...opts.defaults(p).filter((a) => !overridden.has(flagName(a))), ...extra], cwd: opts.dir }),
    (p) => `http://127.0.0.1:${p}${opts.readyPath}`,
    opts.readyTimeoutMs ?? 30_000,
  );
}

/**
 * `harbinger serve` from the build (dist/) on a free loopback port, ready when /healthz answers.
 * `dataDir` and `config` (a file) as the command line takes them; `env` adds to this process's.
 */
export function spawnServe(
  name: string,
  opts: { dataDir: string; config?: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ proc: ManagedProcess; port: number }> {
  return spawnListening(
    name,
    (port) => ({
      command: process.execPath,
      args: [
        'dist/src/cli/main.js',
        'serve',
        '--port',
        String(port),
        ...(opts.config !== undefined ? ['--config', opts.config] : []),
        '--data-dir',
        opts.dataDir,
      ],
      env: { ...process.env, ...opts.env },
    }),
    (port) => `http://127.0.0.1:${port}/healthz`,
    opts.timeoutMs ?? 30_000,
  );
}
