import { createHash, createHmac } from 'node:crypto';

/**
 * Append-only, hash-chained audit entries: each entry carries the hash of the previous one, and
 * its own hash covers its sequence number, time, kind, actor, payload and that previous hash.
 * Editing, removing, inserting or reordering any line breaks the chain at that line.
 *
 * A chain alone cannot see its end cut off, nor a whole log rewritten with recomputed hashes.
 * Two anchors close that: with a key (HARBINGER_AUDIT_KEY) each hash is an HMAC, which nobody
 * without the key can recompute; and the head (count and last hash) is checkpointed and exported,
 * so a log shorter than its head, or different at the head, is found (the way transparency logs
 * publish signed tree heads).
 */

export interface AuditEntry {
  seq: number;
  /** Event time of the decision (epoch ms), not the wall clock of the writer. */
  ts: number;
  kind: string;
  actor: string;
  payload: unknown;
  prevHash: string;
  /** 'hmac-sha256' when the hash is keyed; absent for a plain SHA-256 chain. */
  alg?: 'hmac-sha256';
  hash: string;
}

/** Where a chain stands: how many entries, and the last one's hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Canonical JSON: object keys sorted at every level, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function entryHash(e: Omit<AuditEntry, 'hash'>, key?: string): string {
  const body = canonicalJson({ seq: e.seq, ts: e.ts, kind: e.kind, actor: e.actor, payload: e.payload, prevHash: e.prevHash, alg: e.alg });
  return (e.alg === 'hmac-sha256' ? createHmac('sha256', key ?? '') : createHash('sha256')).update(body).digest('hex');
}

export class AuditChain {
  private seq = 0;
  private last = GENESIS_HASH;

  /** `key`: authenticate every new entry with HMAC-SHA256 under it. */
  constructor(private readonly key?: string) {}

  /** Continue an existing log from its last entry (or its head). */
  static resume(last: ChainHead | undefined, key?: string): AuditChain {
    const c = new AuditChain(key);
    if (last !== undefined) c.reset(last);
    return c;
  }

  /** Back to `head`: an entry computed but not written must not be chained to. */
  reset(head: ChainHead): void {
    this.seq = head.seq;
    this.last = head.hash;
  }

  append(ts: number, kind: string, actor: string, payload: unknown): AuditEntry {
    const base: Omit<AuditEntry, 'hash'> = { seq: ++this.seq, ts, kind, actor, payload, prevHash: this.last };
    if (this.key !== undefined) base.alg = 'hmac-sha256';
    const entry: AuditEntry = { ...base, hash: entryHash(base, this.key) };
    this.last = entry.hash;
    return entry;
  }

  get head(): ChainHead {
    return { seq: this.seq, hash: this.last };
  }
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /** 1-based line of the first problem, with what is wrong there. */
  problem?: { line: number; reason: string };
  /** Where the valid part ends: the last good entry, and the byte offset just after its line. */
  head: ChainHead;
  validBytes: number;
  /** Keyed entries were found but no key was given: links and order were checked, authenticity not. */
  unauthenticated?: number;
}

export interface VerifyOptions {
  /** The HMAC key: keyed entries are checked against it, and a plain entry after a keyed one is a forgery. */
  key?: string;
  /** A head checkpointed earlier: the log must still hold it (same hash at that sequence number). */
  anchor?: ChainHead;
}

/** Verifies a whole log given as lines of JSON (split on '\n'). */
export function verifyChain(lines: readonly string[], opts: VerifyOptions = {}): VerifyResult {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let n = 0;
  let bytes = 0;
  let validBytes = 0;
  let keyed = false;
  let unauthenticated = 0;
  let anchorSeen = opts.anchor === undefined || opts.anchor.seq === 0;
  const fail = (line: number, reason: string): VerifyResult => ({
    ok: false,
    entries: n,
    problem: { line, reason },
    head: { seq: expectedSeq - 1, hash: prev },
    validBytes,
    ...(unauthenticated > 0 ? { unauthenticated } : {}),
  });
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    bytes += Buffer.byteLength(line) + (i < lines.length - 1 ? 1 : 0);
    if (line.trim() === '') continue;
    const at = i + 1;
    let e: AuditEntry;
    try {
      e = JSON.parse(line) as AuditEntry;
    } catch {
      return fail(at, 'not valid JSON');
    }
    if (typeof e !== 'object' || e === null || typeof e.hash !== 'string') return fail(at, 'not an audit entry');
    if (e.seq !== expectedSeq) return fail(at, `sequence ${e.seq} where ${expectedSeq} was expected: an entry was removed, inserted or reordered`);
    if (e.prevHash !== prev) return fail(at, 'prevHash does not match the previous entry: the chain is broken here');
    const { hash, ...rest } = e;
    if (e.alg === 'hmac-sha256') {
      keyed = true;
      if (opts.key === undefined) unauthenticated++;
      else if (entryHash(rest, opts.key) !== hash) return fail(at, 'HMAC does not match under the configured key: this entry was edited or forged');
    } else if (keyed && opts.key !== undefined) {
      return fail(at, 'a plain-hash entry after keyed ones: forged by someone without the key');
    } else if (entryHash(rest) !== hash) return fail(at, 'content does not match its hash: this entry was edited');
    if (opts.anchor !== undefined && e.seq === opts.anchor.seq) {
      if (hash !== opts.anchor.hash) return fail(at, `entry ${e.seq} differs from the checkpointed head: the log was rewritten`);
      anchorSeen = true;
    }
    prev = hash;
    expectedSeq++;
    n++;
    validBytes = bytes;
  }
  const head = { seq: expectedSeq - 1, hash: prev };
  if (!anchorSeen)
    return {
      ok: false,
      entries: n,
      problem: { line: lines.length, reason: `the log ends at entry ${n}, before the checkpointed head ${opts.anchor!.seq}: entries were cut off` },
      head,
      validBytes,
    };
  return { ok: true, entries: n, head, validBytes, ...(unauthenticated > 0 ? { unauthenticated } : {}) };
}
