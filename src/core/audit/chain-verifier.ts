import { type AuditEntry, type ChainHead, entryHash, GENESIS_HASH } from './hash-chain.js';

/**
 * Verification of a hash chain read line by line, across as many files as it was rotated into:
 * the files are one chain, fed oldest first, so a removed, edited, inserted or reordered entry, a
 * missing rotated file (a gap in the sequence numbers) and rotated files in the wrong order (a
 * sequence number going back) are all found at the first line where the chain breaks.
 *
 * Deleting old rotated files is allowed only when the chain says so: before a file is deleted,
 * an `audit.pruned` entry records the last entry it held. A log whose first entry is not entry 1
 * is accepted only if one of its `audit.pruned` entries names the entry just before it; otherwise
 * the start of the history was removed by someone other than the rotation.
 */

/** The kind of the entry the rotation appends before it deletes a rotated file. */
export const PRUNED_KIND = 'audit.pruned';

/** What an `audit.pruned` entry records: the deleted file and the last entry it held. */
export interface PrunedPayload {
  file: string;
  throughSeq: number;
  throughHash: string;
}

export interface VerifyOptions {
  /** The HMAC key: keyed entries are checked against it, and a plain entry after a keyed one is a forgery. */
  key?: string;
  /** A head checkpointed earlier: the log must still hold it (same hash at that sequence number). */
  anchor?: ChainHead;
}

/** One line's verdict: the entry when it is a good one, the reason when the chain breaks there. */
export type LineVerdict = { entry?: AuditEntry; problem?: undefined } | { entry?: undefined; problem: string };

export class ChainVerifier {
  private prev = GENESIS_HASH;
  private expectedSeq = 1;
  private n = 0;
  private keyed = false;
  private unauth = 0;
  private anchorSeen: boolean;
  /** Where the log starts when its first entries were pruned: the entry before its first one. */
  private startsAfter: ChainHead | undefined;
  private readonly pruned = new Set<string>();

  constructor(private readonly opts: VerifyOptions = {}) {
    this.anchorSeen = opts.anchor === undefined || opts.anchor.seq === 0;
  }

  /** Checks the next line (blank lines are skipped). Stop at the first problem: the chain is broken there. */
  line(line: string): LineVerdict {
    if (line.trim() === '') return {};
    let e: AuditEntry;
    try {
      e = JSON.parse(line) as AuditEntry;
    } catch {
      return { problem: 'not valid JSON' };
    }
    if (typeof e !== 'object' || e === null || typeof e.hash !== 'string') return { problem: 'not an audit entry' };
    if (this.n === 0 && typeof e.seq === 'number' && e.seq > 1) {
      // The oldest entries were pruned, or lost: finish() decides which, once the records were read.
      this.startsAfter = { seq: e.seq - 1, hash: e.prevHash };
      this.expectedSeq = e.seq;
      this.prev = e.prevHash;
    }
    if (e.seq !== this.expectedSeq)
      return {
        problem: `sequence ${e.seq} where ${this.expectedSeq} was expected: an entry was removed, inserted or reordered${this.n > 0 ? ', or a rotated file is missing or out of order' : ''}`,
      };
    if (e.prevHash !== this.prev) return { problem: 'prevHash does not match the previous entry: the chain is broken here' };
    const { hash, ...rest } = e;
    if (e.alg === 'hmac-sha256') {
      this.keyed = true;
      if (this.opts.key === undefined) this.unauth++;
      else if (entryHash(rest, this.opts.key) !== hash) return { problem: 'HMAC does not match under the configured key: this entry was edited or forged' };
    } else if (this.keyed && this.opts.key !== undefined) {
      return { problem: 'a plain-hash entry after keyed ones: forged by someone without the key' };
    } else if (entryHash(rest) !== hash) return { problem: 'content does not match its hash: this entry was edited' };
    const anchor = this.opts.anchor;
    if (anchor !== undefined && e.seq === anchor.seq) {
      if (hash !== anchor.hash) return { problem: `entry ${e.seq} differs from the checkpointed head: the log was rewritten` };
      this.anchorSeen = true;
    }
    if (e.kind === PRUNED_KIND) {
      const p = e.payload as Partial<PrunedPayload> | null;
      if (typeof p?.throughSeq === 'number' && typeof p.throughHash === 'string') this.pruned.add(`${p.throughSeq}:${p.throughHash}`);
    }
    this.prev = hash;
    this.expectedSeq++;
    this.n++;
    return { entry: e };
  }

  /**
   * What can only be judged at the end: a log starting after entry 1 needs an `audit.pruned` entry
   * for what came before (`where: 'start'`); the checkpointed head must have been reached (`'end'`).
   */
  finish(): { reason: string; where: 'start' | 'end' } | undefined {
    const s = this.startsAfter;
    if (s !== undefined && !this.pruned.has(`${s.seq}:${s.hash}`))
      return {
        where: 'start',
        reason: `the log starts at entry ${s.seq + 1} and no ${PRUNED_KIND} entry records entries up to ${s.seq} as deleted by rotation: its beginning (a rotated file) is missing`,
      };
    // A head older than the retained history was in a file the rotation deleted (recorded above).
    if (!this.anchorSeen && s !== undefined && this.opts.anchor!.seq <= s.seq) this.anchorSeen = true;
    if (!this.anchorSeen)
      return {
        where: 'end',
        reason: `the log ends at entry ${this.expectedSeq - 1}, before the checkpointed head ${this.opts.anchor!.seq}: entries were cut off`,
      };
    return undefined;
  }

  /** The last good entry. */
  get head(): ChainHead {
    return { seq: this.expectedSeq - 1, hash: this.prev };
  }

  get entries(): number {
    return this.n;
  }

  /** Keyed entries seen without a key: links and order were checked, authenticity not. */
  get unauthenticated(): number {
    return this.unauth;
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

/** Verifies a whole log given as lines of JSON (one file's text split on '\n'). */
export function verifyChain(lines: readonly string[], opts: VerifyOptions = {}): VerifyResult {
  const v = new ChainVerifier(opts);
  let bytes = 0;
  let validBytes = 0;
  let firstEntryLine = 0;
  const result = (problem?: { line: number; reason: string }): VerifyResult => ({
    ok: problem === undefined,
    entries: v.entries,
    ...(problem !== undefined ? { problem } : {}),
    head: v.head,
    validBytes,
    ...(v.unauthenticated > 0 ? { unauthenticated: v.unauthenticated } : {}),
  });
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    bytes += Buffer.byteLength(line) + (i < lines.length - 1 ? 1 : 0);
    const r = v.line(line);
    if (r.problem !== undefined) return result({ line: i + 1, reason: r.problem });
    if (r.entry === undefined) continue;
    if (firstEntryLine === 0) firstEntryLine = i + 1;
    validBytes = bytes;
  }
  const end = v.finish();
  return result(end === undefined ? undefined : { line: end.where === 'start' ? firstEntryLine : lines.length, reason: end.reason });
}
