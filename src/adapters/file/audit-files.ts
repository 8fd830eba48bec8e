import { type AuditEntry, type ChainHead, ChainVerifier, type VerifyOptions } from '../../core/audit/hash-chain.js';
import { linesSync } from './line-reader.js';

/**
 * The audit log's files (rotated ones oldest first, then the live one) verified as one chain,
 * read line by line: never a whole file as one string (a long-lived log passes V8's 512 MiB cap).
 */

export interface AuditFilesResult {
  ok: boolean;
  entries: number;
  /** The last good entry. */
  head: ChainHead;
  /** The first problem: the file, its 1-based line, and what is wrong there. */
  problem?: { file: string; line: number; reason: string };
  /** The problem is a torn last line of the last file (a crash or a full disk mid-append): what to cut. */
  torn?: { file: string; validBytes: number };
  unauthenticated?: number;
  /** Where each file ends in the chain (its last entry), in order. */
  segments: { path: string; last: ChainHead }[];
}

export function verifyAuditFiles(files: readonly string[], opts: VerifyOptions & { onEntry?: (e: AuditEntry) => void } = {}): AuditFilesResult {
  const v = new ChainVerifier(opts);
  const segments: AuditFilesResult['segments'] = [];
  let firstEntry: { file: string; line: number } | undefined;
  let lastLine = { file: files[files.length - 1] ?? '', line: 0 };
  const result = (problem?: AuditFilesResult['problem'], torn?: AuditFilesResult['torn']): AuditFilesResult => ({
    ok: problem === undefined,
    entries: v.entries,
    head: v.head,
    ...(problem !== undefined ? { problem } : {}),
    ...(torn !== undefined ? { torn } : {}),
    ...(v.unauthenticated > 0 ? { unauthenticated: v.unauthenticated } : {}),
    segments,
  });
  for (const [fileNo, file] of files.entries()) {
    const isLast = fileNo === files.length - 1;
    let lineNo = 0;
    let bytes = 0;
    let validBytes = 0;
    let problem: { line: number; reason: string } | undefined;
    for (const l of linesSync(file)) {
      lineNo++;
      if (problem !== undefined) {
        // After a problem only blank lines may follow, or it is no torn tail.
        if (l.line.trim() !== '') return result({ file, ...problem });
        continue;
      }
      bytes += l.bytes;
      const r = v.line(l.line);
      if (r.problem !== undefined) {
        problem = { line: lineNo, reason: r.problem };
        if (!isLast || r.problem !== 'not valid JSON') return result({ file, ...problem });
        continue;
      }
      if (r.entry === undefined) continue;
      firstEntry ??= { file, line: lineNo };
      validBytes = bytes;
      opts.onEntry?.(r.entry);
    }
    if (problem !== undefined) return result({ file, ...problem }, { file, validBytes });
    segments.push({ path: file, last: v.head });
    lastLine = { file, line: lineNo };
  }
  const end = v.finish();
  if (end === undefined) return result();
  return result({ ...(end.where === 'start' && firstEntry !== undefined ? firstEntry : lastLine), reason: end.reason });
}
