import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { AuditChain, type AuditEntry } from '../../core/audit/hash-chain.js';

/**
 * The audit log on disk: one JSON entry per line, appended synchronously so an entry is on disk
 * before the action it records is carried out. Reopening resumes the chain from the last line.
 */
export class FileAuditLog {
  private readonly chain: AuditChain;

  constructor(private readonly path: string) {
    let last: AuditEntry | undefined;
    if (existsSync(path)) {
      const lines = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      if (lines.length > 0) {
        try {
          last = JSON.parse(lines[lines.length - 1]!) as AuditEntry;
        } catch {
          // A crash mid-append leaves a torn line. Appending after it would hide it: refuse, with what to do.
          throw new Error(
            `audit log ${path} ends with an unreadable line (${lines.length}): inspect it with 'harbinger audit verify ${path}' and move the file aside before starting`,
          );
        }
      }
    }
    this.chain = AuditChain.resume(last);
  }

  append(ts: number, kind: string, actor: string, payload: unknown): AuditEntry {
    const entry = this.chain.append(ts, kind, actor, payload);
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
    return entry;
  }
}
