#!/usr/bin/env node
import { runCommand, type Command } from './command.js';
import { replayCommand } from './replay.js';
import { scoreCommand } from './score.js';
import { evalCommand } from './eval.js';
import { auditCommand } from './audit.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';
import { nabCommand } from './nab.js';
import { evalSuiteCommand } from './eval-suite.js';

const commands: Command[] = [serveCommand, replayCommand, scoreCommand, evalCommand, evalSuiteCommand, nabCommand, auditCommand, trainCommand];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: harbinger <command> [options]

Harbinger: anomaly pre-detection for active-active platforms.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'harbinger <command> --help' for a command's options.`;
}

// `harbinger replay ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (cmd === undefined) {
    process.stderr.write(`harbinger: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  return runCommand(cmd, rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`harbinger: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
