#!/usr/bin/env node
import { harbingerVersion } from '../app/version.js';
import { complain, EXIT, runCommand, type Command } from './command.js';
import { replayCommand } from './replay.js';
import { scoreCommand } from './score.js';
import { evalCommand } from './eval.js';
import { auditCommand } from './audit.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';
import { nabCommand } from './nab.js';
import { evalSuiteCommand } from './eval-suite.js';
import { configCommand } from './config-check.js';
import { backfillCommand } from './backfill.js';

const commands: Command[] = [
  serveCommand,
  backfillCommand,
  replayCommand,
  scoreCommand,
  evalCommand,
  evalSuiteCommand,
  nabCommand,
  auditCommand,
  configCommand,
  trainCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: harbinger <command> [options]

Harbinger: anomaly pre-detection for active-active platforms.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'harbinger <command> --help' (or 'harbinger help <command>') for a command's options,
'harbinger --version' for the version.

Exit status, the same for every command: 0 success; 1 the command ran and failed, or found what it
checks wrong (an audit log not intact, a replay without one valid line); 2 usage: an unknown command
or option, a missing or bad argument, a path that cannot be read or written, an invalid configuration.
Errors are one line on stderr; HARBINGER_DEBUG=1 adds the stack trace of an unexpected one.`;
}

/**
 * One line for an error nothing else caught: the message, which for a file-system error names the
 * path and the reason; the stack only when asked for, since it helps a developer, not an operator.
 */
function fatal(command: string, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  if (process.env['HARBINGER_DEBUG'] === '1') process.stderr.write(`${err.stack ?? err.message}\n`);
  // A programming error says so, so that it is reported rather than taken for a bad input.
  const bug = err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
  complain(command, bug ? `internal error: ${err.message} (HARBINGER_DEBUG=1 shows where)` : err.message, EXIT.failed);
}

// `harbinger replay ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${usage()}\n`);
    return EXIT.usage;
  }
  if (name === '--version') {
    process.stdout.write(`harbinger ${harbingerVersion()}\n`);
    return EXIT.ok;
  }
  // `harbinger help replay` is `harbinger replay --help`.
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return EXIT.ok;
  }
  const cmd = commands.find((c) => c.name === name);
  if (cmd === undefined) {
    process.stderr.write(`harbinger: unknown command '${name}' (see 'harbinger --help')\n`);
    return EXIT.usage;
  }
  // An error thrown from a stream's 'error' event escapes the promise below: same one line for it.
  process.on('uncaughtException', (e) => {
    fatal(cmd.name, e);
    process.exit(EXIT.failed);
  });
  try {
    return await runCommand(cmd, rest);
  } catch (e) {
    fatal(cmd.name, e);
    return EXIT.failed;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
