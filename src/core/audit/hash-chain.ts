import { createHash } from 'node:crypto';

/**
 * Append-only, hash-chained audit entries: each entry carries the hash of the previous one, and
 * its own hash covers its sequence number, time, kind, actor, payload and that previous hash.
 * Editing, removing, inserting or reordering any line breaks the chain at that line.
 */

export interface AuditEntry {
  seq: number;
  /** Event time of the decision (epoch ms), not the wall clock of the writer. */
  ts: number;
  kind: string;
  actor: string;
  payload: unknown;
  prevHash: string;
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

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256')
    .update(canonicalJson({ seq: e.seq, ts: e.ts, kind: e.kind, actor: e.actor, payload: e.payload, prevHash: e.prevHash }))
    .digest('hex');
}

export class AuditChain {
  private seq = 0;
  private last = GENESIS_HASH;

  /** Continue an existing log from its last entry. */
  static resume(last: AuditEntry | undefined): AuditChain {
    const c = new AuditChain();
    if (last !== undefined) {
      c.seq = last.seq;
      c.last = last.hash;
    }
    return c;
  }

  append(ts: number, kind: string, actor: string, payload: unknown): AuditEntry {
    const base = { seq: ++this.seq, ts, kind, actor, payload, prevHash: this.last };
    const entry: AuditEntry = { ...base, hash: entryHash(base) };
    this.last = entry.hash;
    return entry;
  }
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /** 1-based line of the first problem, with what is wrong there. */
  problem?: { line: number; reason: string };
}

/** Verifies a whole log given as lines of JSON. */
export function verifyChain(lines: readonly string[]): VerifyResult {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const at = i + 1;
    let e: AuditEntry;
    try {
      e = JSON.parse(line) as AuditEntry;
    } catch {
      return { ok: false, entries: n, problem: { line: at, reason: 'not valid JSON' } };
    }
    if (typeof e !== 'object' || e === null || typeof e.hash !== 'string')
      return { ok: false, entries: n, problem: { line: at, reason: 'not an audit entry' } };
    if (e.seq !== expectedSeq)
      return {
        ok: false,
        entries: n,
        problem: { line: at, reason: `sequence ${e.seq} where ${expectedSeq} was expected: an entry was removed, inserted or reordered` },
      };
    if (e.prevHash !== prev)
      return { ok: false, entries: n, problem: { line: at, reason: 'prevHash does not match the previous entry: the chain is broken here' } };
    const { hash, ...rest } = e;
    if (entryHash(rest) !== hash) return { ok: false, entries: n, problem: { line: at, reason: 'content does not match its hash: this entry was edited' } };
    prev = hash;
    expectedSeq++;
    n++;
  }
  return { ok: true, entries: n };
}
