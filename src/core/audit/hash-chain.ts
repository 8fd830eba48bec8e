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

// Verification lives beside the chain (chain-verifier.ts); re-exported so callers need one import.
export { ChainVerifier, PRUNED_KIND, type PrunedPayload, verifyChain, type VerifyOptions, type VerifyResult } from './chain-verifier.js';
