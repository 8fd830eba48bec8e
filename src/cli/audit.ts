import { existsSync, readFileSync } from 'node:fs';
import { verifyAuditFiles } from '../adapters/file/audit-files.js';
import { logFiles } from '../adapters/file/rotated-files.js';
import type { ChainHead } from '../core/audit/hash-chain.js';
import { readSecret } from '../config/secrets.js';
import { complain, EXIT, usageError, type Command } from './command.js';
import { unreadable } from './paths.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify a hash-chained audit log (harbinger audit verify <file>)',
  usage: `Usage: harbinger audit verify <audit.jsonl> [--head <audit.head.json>]

Checks that every entry's hash matches its content and links to the previous entry, so any
edited, removed, inserted or reordered line is found. The rotated files beside it
(<audit.jsonl>.000001, .000002, ...) are read first, oldest first, as one chain: a missing or
reordered rotated file is found too, and a missing beginning is accepted only where the log
itself records deleting it (an audit.pruned entry, written when keepFiles deletes old files). With HARBINGER_AUDIT_KEY (or _FILE) set,
keyed entries are checked against it (a rewrite with recomputed hashes, or a forged entry, is
found); without it their authenticity is reported as not checked. With --head, the log must
still hold the head serve checkpointed (audit.head.json in its data directory): a log cut short
or rewritten is found. Exit code 0 when intact, 1 when not, 2 when a file cannot be read.

Options:
  --head <file>  the checkpointed head ({"seq":n,"hash":"..."}) to check the log against
  -h, --help     show this help`,
  options: { head: { type: 'string' } },
  maxPositionals: 2,
  async run(values, positionals) {
    const [verb, file] = positionals;
    if (verb !== 'verify' || file === undefined) {
      return usageError(this.name, "expected 'verify <file>'");
    }
    const head = values['head'] as string | undefined;
    // The live file may be absent when only rotated files exist (a crash right after a rotation).
    const files = logFiles(file);
    for (const [what, path] of [
      ['', existsSync(file) || files.length === 0 ? file : undefined],
      ['--head ', head],
      ...files.map((f) => ['', f] as const),
    ] as const) {
      const problem = path === undefined ? undefined : unreadable(path, 'file');
      if (problem !== undefined) return complain(this.name, `${what}${path}: ${problem}`, EXIT.usage);
    }
    let anchor: ChainHead | undefined;
    let key: string | undefined;
    try {
      if (head !== undefined) anchor = parseHead(readFileSync(head, 'utf8'), head);
      key = readSecret('HARBINGER_AUDIT_KEY')?.value;
    } catch (e) {
      return complain(this.name, (e as Error).message, EXIT.usage);
    }
    const r = verifyAuditFiles(files, { ...(key !== undefined ? { key } : {}), ...(anchor !== undefined ? { anchor } : {}) });
    const first = r.head.seq - r.entries + 1;
    const inFiles = `${files.length > 1 ? ` in ${files.length} files` : ''}${first > 1 ? ` (entries ${first}-${r.head.seq}; the ${first - 1} before them pruned by rotation, as the log records)` : ''}`;
    const note =
      r.unauthenticated !== undefined
        ? ` (${r.unauthenticated} keyed entries not authenticated: set HARBINGER_AUDIT_KEY)`
        : key !== undefined
          ? ' (authenticated)'
          : '';
    if (r.ok) {
      process.stdout.write(`${file}: intact, ${r.entries} entries${inFiles}, head ${r.head.hash.slice(0, 16)}${note}\n`);
      return EXIT.ok;
    }
    const where = r.problem!.file === file ? '' : `${r.problem!.file} `;
    process.stdout.write(`${file}: BROKEN at ${where}line ${r.problem!.line}: ${r.problem!.reason} (${r.entries} entries verified before it)${note}\n`);
    return EXIT.failed;
  },
};

/** The --head file, or an error naming it (JSON.parse's own message does not say which file). */
function parseHead(text: string, path: string): ChainHead {
  try {
    const h = JSON.parse(text) as Partial<ChainHead>;
    if (typeof h.seq === 'number' && typeof h.hash === 'string') return h as ChainHead;
  } catch {
    // reported below
  }
  throw new Error(`--head ${path}: not a checkpointed head ({"seq":n,"hash":"..."})`);
}
