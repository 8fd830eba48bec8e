import { readFileSync } from 'node:fs';
import { verifyChain, type ChainHead } from '../core/audit/hash-chain.js';
import { readSecret } from '../config/secrets.js';
import type { Command } from './command.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify a hash-chained audit log (harbinger audit verify <file>)',
  usage: `Usage: harbinger audit verify <audit.jsonl> [--head <audit.head.json>]

Checks that every entry's hash matches its content and links to the previous entry, so any
edited, removed, inserted or reordered line is found. With HARBINGER_AUDIT_KEY (or _FILE) set,
keyed entries are checked against it (a rewrite with recomputed hashes, or a forged entry, is
found); without it their authenticity is reported as not checked. With --head, the log must
still hold the head serve checkpointed (audit.head.json in its data directory): a log cut short
or rewritten is found. Exit code 0 when intact, 1 when not.

Options:
  --head <file>  the checkpointed head ({"seq":n,"hash":"..."}) to check the log against
  -h, --help     show this help`,
  options: { head: { type: 'string' } },
  async run(values, positionals) {
    const [verb, file] = positionals;
    if (verb !== 'verify' || file === undefined) {
      process.stderr.write(`harbinger audit: expected 'verify <file>'\n\n${this.usage}\n`);
      return 2;
    }
    let text: string;
    let anchor: ChainHead | undefined;
    let key: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
      if (values['head'] !== undefined) anchor = JSON.parse(readFileSync(values['head'] as string, 'utf8')) as ChainHead;
      key = readSecret('HARBINGER_AUDIT_KEY')?.value;
    } catch (e) {
      process.stderr.write(`harbinger audit: ${(e as Error).message}\n`);
      return 2;
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
      return 0;
    }
    process.stdout.write(`${file}: BROKEN at line ${r.problem!.line}: ${r.problem!.reason} (${r.entries} entries verified before it)${note}\n`);
    return 1;
  },
};
