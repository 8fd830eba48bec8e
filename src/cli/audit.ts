import { readFileSync } from 'node:fs';
import { verifyChain } from '../core/audit/hash-chain.js';
import type { Command } from './command.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify a hash-chained audit log (harbinger audit verify <file>)',
  usage: `Usage: harbinger audit verify <audit.jsonl>

Checks that every entry's hash matches its content and links to the previous entry, so any
edited, removed, inserted or reordered line is found. Exit code 0 when intact, 1 when not.

Options:
  -h, --help   show this help`,
  options: {},
  async run(_values, positionals) {
    const [verb, file] = positionals;
    if (verb !== 'verify' || file === undefined) {
      process.stderr.write(`harbinger audit: expected 'verify <file>'\n\n${this.usage}\n`);
      return 2;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      process.stderr.write(`harbinger audit: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    const r = verifyChain(text.split('\n'));
    if (r.ok) {
      process.stdout.write(`${file}: intact, ${r.entries} entries\n`);
      return 0;
    }
    process.stdout.write(`${file}: BROKEN at line ${r.problem!.line}: ${r.problem!.reason} (${r.entries} entries verified before it)\n`);
    return 1;
  },
};
