import { readFileSync } from 'node:fs';
import { verifyChain, type ChainHead } from '../core/audit/hash-chain.js';
import { readSecret } from '../config/secrets.js';
import { complain, EXIT, usageError, type Command } from './command.js';
import { unreadable } from './paths.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify a hash-chained audit log (harbinger audit verify <file>)',
  usage: `Usage: harbinger audit verify <audit.jsonl> [--head <audit.head.json>]

Checks that every entry's hash matches its content and links to the previous entry, so any
edited, removed, inserted or reordered line is found. With HARBINGER_AUDIT_KEY (or _FILE) set,
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
    for (const [what, path] of [
      ['', file],
      ['--head ', head],
    ] as const) {
      const problem = path === undefined ? undefined : unreadable(path, 'file');
      if (problem !== undefined) return complain(this.name, `${what}${path}: ${problem}`, EXIT.usage);
    }
    let text: string;
    let anchor: ChainHead | undefined;
    let key: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
      if (head !== undefined) anchor = parseHead(readFileSync(head, 'utf8'), head);
      key = readSecret('HARBINGER_AUDIT_KEY')?.value;
    } catch (e) {
      return complain(this.name, (e as Error).message, EXIT.usage);
    }
    const r = verifyChain(text.split('\n'), { ...(key !== undefined ? { key } : {}), ...(anchor !== undefined ? { anchor } : {}) });
    const note =
      r.unauthenticated !== undefined
        ? ` (${r.unauthenticated} keyed entries not authenticated: set HARBINGER_AUDIT_KEY)`
        : key !== undefined
          ? ' (authenticated)'
          : '';
    if (r.ok) {
      process.stdout.write(`${file}: intact, ${r.entries} entries, head ${r.head.hash.slice(0, 16)}${note}\n`);
      return EXIT.ok;
    }
    process.stdout.write(`${file}: BROKEN at line ${r.problem!.line}: ${r.problem!.reason} (${r.entries} entries verified before it)${note}\n`);
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
