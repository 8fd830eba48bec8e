import { createConnection } from 'node:net';

/**
 * A tiny client for HAProxy's Runtime API over the stats unix socket
 * (`stats socket <path> mode 600 level admin` in `global`).
 *
 * One command per connection: write `<command>\n`, read until HAProxy closes the connection
 * (non-interactive mode), with a timeout. Names are checked before they reach the socket so a
 * backend or server name can never smuggle a second command (`;` or a newline).
 */

export interface HaproxyRuntimeOptions {
  /** Path of the admin-level stats socket. */
  socketPath: string;
  /** Per-command timeout (connect + answer), default 2000 ms. */
  timeoutMs?: number;
}

export interface HaproxyServerState {
  backend: string;
  name: string;
  address: string;
  /** Current (user) weight. */
  weight: number;
  /** Weight from the configuration file. */
  initialWeight: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** srv_admin_state bit field (0: ready; bit 0/1 set: maintenance). */
  adminState: number;
}

/** HAProxy refused or could not run a command; `message` carries HAProxy's own text. */
export class HaproxyRuntimeError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = 'HaproxyRuntimeError';
  }
}

const NAME = /^[A-Za-z0-9._:-]+$/;

function checkName(kind: string, v: string): void {
  if (!NAME.test(v)) throw new HaproxyRuntimeError(`invalid ${kind} name ${JSON.stringify(v)}: only letters, digits and . _ : - are allowed`, '');
}

export class HaproxyRuntime {
  readonly socketPath: string;
  private readonly timeoutMs: number;

  constructor(opts: HaproxyRuntimeOptions) {
    this.socketPath = opts.socketPath;
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** Sends one command and resolves with HAProxy's full answer (as text). Rejects on socket errors/timeout. */
  command(cmd: string): Promise<string> {
    if (/[\r\n]/.test(cmd)) return Promise.reject(new HaproxyRuntimeError('a runtime API command must be a single line', cmd));
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const sock = createConnection({ path: this.socketPath });
      const finish = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (err !== null) reject(err);
        else resolve(Buffer.concat(chunks).toString('utf8'));
      };
      const timer = setTimeout(
        () => finish(new HaproxyRuntimeError(`no answer from HAProxy runtime socket ${this.socketPath} within ${this.timeoutMs} ms`, cmd)),
        this.timeoutMs,
      );
      sock.on('connect', () => sock.end(`${cmd}\n`));
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('end', () => finish(null));
      sock.on('close', () => finish(null));
      sock.on('error', (e: NodeJS.ErrnoException) => {
        const why =
          e.code === 'ENOENT'
            ? 'socket does not exist (is HAProxy running with `stats socket ... level admin`?)'
            : e.code === 'EACCES'
              ? 'permission denied (socket mode/owner)'
              : e.code === 'ECONNREFUSED'
                ? 'connection refused (HAProxy not listening on it)'
                : e.message;
        finish(new HaproxyRuntimeError(`HAProxy runtime socket ${this.socketPath}: ${why}`, cmd));
      });
    });
  }

  /** `get weight <backend>/<server>` → "N (initial M)". */
  async getWeight(backend: string, server: string): Promise<{ current: number; initial: number }> {
    checkName('backend', backend);
    checkName('server', server);
    const cmd = `get weight ${backend}/${server}`;
    const out = (await this.command(cmd)).trim();
    const m = /^(\d+)\s+\(initial\s+(\d+)\)$/.exec(out);
    if (m === null) throw new HaproxyRuntimeError(`${cmd}: ${out === '' ? 'empty answer' : out}`, cmd);
    return { current: Number(m[1]), initial: Number(m[2]) };
  }

  /** `set weight <backend>/<server> <weight>`; HAProxy answers nothing on success, an error text otherwise. */
  async setWeight(backend: string, server: string, weight: number): Promise<void> {
    checkName('backend', backend);
    checkName('server', server);
    if (!Number.isInteger(weight) || weight < 0 || weight > 256) throw new HaproxyRuntimeError(`weight must be an integer 0..256, got ${weight}`, '');
    const cmd = `set weight ${backend}/${server} ${weight}`;
    const out = (await this.command(cmd)).trim();
    if (out !== '') throw new HaproxyRuntimeError(`${cmd}: ${out}`, cmd);
  }

  /** `show servers state <backend>`: the servers of one backend with their weights and states. */
  async showServers(backend: string): Promise<HaproxyServerState[]> {
    checkName('backend', backend);
    const cmd = `show servers state ${backend}`;
    const out = await this.command(cmd);
    const lines = out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const header = lines.find((l) => l.startsWith('#'));
    if (header === undefined) throw new HaproxyRuntimeError(`${cmd}: ${out.trim() || 'empty answer'}`, cmd);
    const cols = header.replace(/^#\s*/, '').split(/\s+/);
    const col = (name: string): number => cols.indexOf(name);
    const rows: HaproxyServerState[] = [];
    for (const l of lines) {
      if (l.startsWith('#') || /^\d+$/.test(l)) continue; // header, format version
      const f = l.split(/\s+/);
      const get = (name: string): string => f[col(name)] ?? '';
      rows.push({
        backend: get('be_name'),
        name: get('srv_name'),
        address: get('srv_addr'),
        weight: Number(get('srv_uweight')),
        initialWeight: Number(get('srv_iweight')),
        opState: Number(get('srv_op_state')),
        adminState: Number(get('srv_admin_state')),
      });
    }
    return rows;
  }
}
