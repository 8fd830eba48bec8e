import { appendFileSync, closeSync, fsyncSync, openSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { AuditChain, type AuditEntry, type ChainHead, PRUNED_KIND, type PrunedPayload } from '../../core/audit/hash-chain.js';
import { verifyAuditFiles } from './audit-files.js';
import { fsyncDir } from './durable-file.js';
import { beyondKeep, isFull, logFiles, type RotationPolicy, rotate } from './rotated-files.js';

export interface AuditLogOptions {
  /** HMAC key (HARBINGER_AUDIT_KEY): entries are authenticated with it and checked against it at open. */
  key?: string;
  /** The head checkpointed last time: the log must still hold it, or it was cut or rewritten. */
  anchor?: ChainHead;
  /**
   * Report `since` from the entry after this one rather than after the anchor (an executed action
   * whose controller call had no answer yet when the anchor was checkpointed: it is sent again).
   */
  sinceSeq?: number;
  /** Wall clock for the repair entry. */
  now?: () => number;
  /** Size-based rotation (rotated-files.ts); none: the one file grows. */
  rotation?: RotationPolicy;
}

/** What opening the log found and did. */
export interface AuditOpenReport {
  entries: number;
  /** A torn last line (a crash or a full disk mid-append) was cut off; what was removed. */
  repaired?: { line: number; bytes: number; reason: string };
  /** Keyed entries that could not be authenticated for lack of the key. */
  unauthenticated?: number;
  /** The entries after the anchor (what was audited since the last checkpoint), oldest first. */
  since: AuditEntry[];
}

/**
 * The audit log on disk: one JSON entry per line, appended synchronously so an entry is on disk
 * before the action it records is carried out. Opening verifies the whole chain, across every
 * rotated file (and the checkpointed head): a log edited, rewritten or cut short refuses to open,
 * so a service on it fails closed; only a torn last line, what a crash or a full disk leaves
 * mid-append, is repaired, by cutting it off and recording that in the log itself.
 *
 * Rotation keeps one chain: the live file is renamed when full, and the next entry, the first of
 * the new file, links to the last of the old one. Deleting rotated files beyond `keepFiles` is
 * recorded first, one `audit.pruned` entry per file naming its last entry, so `audit verify`
 * tells a pruned beginning from a removed one.
 */
export class FileAuditLog {
  private readonly chain: AuditChain;
  private size = 0;
  /** Where each rotated file ends in the chain: what an `audit.pruned` entry records. */
  private readonly rotatedEnds = new Map<string, ChainHead>();
  readonly opened: AuditOpenReport;

  constructor(
    private readonly path: string,
    private readonly opts: AuditLogOptions = {},
  ) {
    let head: ChainHead | undefined;
    let repaired: AuditOpenReport['repaired'];
    let unauthenticated: number | undefined;
    const since: AuditEntry[] = [];
    const after = Math.min(opts.anchor?.seq ?? 0, opts.sinceSeq ?? Number.POSITIVE_INFINITY);
    const files = logFiles(path);
    if (files.length > 0) {
      const r = verifyAuditFiles(files, {
        ...(opts.key !== undefined ? { key: opts.key } : {}),
        ...(opts.anchor !== undefined ? { anchor: opts.anchor } : {}),
        onEntry: (e) => {
          if (e.seq > after) since.push(e);
        },
      });
      if (!r.ok) {
        const p = r.problem!;
        if (r.torn?.file !== path)
          throw new Error(
            `audit log ${p.file} fails verification at line ${p.line}: ${p.reason}. Refusing to continue on it (inspect with 'harbinger audit verify ${path}')`,
          );
        const bytes = statSync(path).size - r.torn.validBytes;
        truncateSync(path, r.torn.validBytes);
        repaired = { line: p.line, bytes, reason: 'torn last line (a crash or a full disk during an append) cut off' };
      }
      head = r.head;
      unauthenticated = r.unauthenticated;
      for (const s of r.segments) if (s.path !== path) this.rotatedEnds.set(s.path, s.last);
      if (files.includes(path)) this.size = statSync(path).size;
    }
    this.chain = AuditChain.resume(head, opts.key);
    this.opened = {
      entries: head?.seq ?? 0,
      since,
      ...(repaired !== undefined ? { repaired } : {}),
      ...(unauthenticated !== undefined ? { unauthenticated } : {}),
    };
    if (repaired !== undefined) this.append((opts.now ?? Date.now)(), 'audit.repaired', 'harbinger', repaired);
  }

  /**
   * Append one entry, rotating first when it would take the live file past `maxFileBytes`. On a
   * write error (a full disk) the partial line is cut off again and the chain stays where it was,
   * so the log is never left torn and the next append links correctly; the error is thrown for the
   * caller to refuse whatever the entry was for.
   */
  append(ts: number, kind: string, actor: string, payload: unknown): AuditEntry {
    if (this.opts.rotation !== undefined) {
      // The entry's exact size decides; computing it does not move the chain.
      const before = this.chain.head;
      const probe = this.chain.append(ts, kind, actor, payload);
      this.chain.reset(before);
      if (isFull(this.opts.rotation, this.size, Buffer.byteLength(JSON.stringify(probe)) + 1)) this.rotate(ts);
    }
    return this.write(ts, kind, actor, payload);
  }

  /**
   * One rename (atomic: a crash leaves the full file under its old name or its new one), then the
   * files beyond `keepFiles`: each recorded in the new file, the records fsynced, and only then
   * deleted, oldest first, so at every crash point the oldest file left starts right after an
   * entry a record names. A crash before the deletions leaves extra files, pruned next time.
   */
  private rotate(ts: number): void {
    const rotated = rotate(this.path);
    this.rotatedEnds.set(rotated, this.chain.head);
    this.size = 0;
    const doomed = beyondKeep(this.path, this.opts.rotation!.keepFiles).filter((f) => this.rotatedEnds.has(f.path));
    if (doomed.length === 0) return;
    for (const f of doomed) {
      const end = this.rotatedEnds.get(f.path)!;
      this.write(ts, PRUNED_KIND, 'harbinger', { file: basename(f.path), throughSeq: end.seq, throughHash: end.hash } satisfies PrunedPayload);
    }
    const fd = openSync(this.path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    for (const f of doomed) {
      unlinkSync(f.path);
      this.rotatedEnds.delete(f.path);
    }
    fsyncDir(dirname(this.path));
  }

  private write(ts: number, kind: string, actor: string, payload: unknown): AuditEntry {
    const before = this.chain.head;
    const entry = this.chain.append(ts, kind, actor, payload);
    const line = `${JSON.stringify(entry)}\n`;
    try {
      appendFileSync(this.path, line);
      this.size += Buffer.byteLength(line);
    } catch (err) {
      this.chain.reset(before);
      try {
        truncateSync(this.path, this.size);
      } catch {
        // The disk may refuse this too; opening repairs a torn tail.
      }
      throw err;
    }
    return entry;
  }

  /** Count and last hash: checkpoint it, export it, compare it with the file later. */
  get head(): ChainHead {
    return this.chain.head;
  }
}
