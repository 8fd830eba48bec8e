import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfigFile, type HarbingerConfig } from '../config/load.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import { unreadable } from './paths.js';

/**
 * Exit codes, one convention for every command (the top-level --help and the README say it):
 * usage (2): the command cannot start as asked: an unknown command or option, a missing or bad
 * argument, a path that cannot be read or written, an invalid configuration; failed (1): it
 * started and failed (an error while running) or found what it checks for wrong (an audit log not
 * intact, a replay without one valid line).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Prints `harbinger <command>: <message>` on stderr, one line, and returns `code`. */
export function complain(command: string, message: string, code: number): number {
  process.stderr.write(`harbinger ${command}: ${message}\n`);
  return code;
}

/** A CLI command: its name, one-line summary, full help text, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** At most this many positional arguments (a stray one is a usage error, not silently ignored). */
  maxPositionals: number;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/** A usage error: one line, pointing at the command's help rather than printing all of it. */
export function usageError(command: string, message: string): number {
  return complain(command, `${message} (see 'harbinger ${command} --help')`, EXIT.usage);
}

/** Parse argv for `cmd`; `--help` anywhere prints its usage. Returns the exit code. */
export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    return usageError(cmd.name, (e as Error).message);
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(`${cmd.usage}\n`);
    return EXIT.ok;
  }
  const extra = parsed.positionals[cmd.maxPositionals];
  if (extra !== undefined) return usageError(cmd.name, `unexpected argument '${extra}'`);
  return cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

/** Loads the --config file; on a configuration error prints it (every bad field) and returns undefined. */
export function loadConfigOrReport(path: string | undefined, command: string): HarbingerConfig | undefined {
  // A missing file is one line naming it, not a list of "invalid configuration" problems.
  const problem = path === undefined ? undefined : unreadable(path, 'file');
  if (problem !== undefined) {
    complain(command, `--config ${path}: ${problem}`, EXIT.usage);
    return undefined;
  }
  try {
    return loadConfigFile(path);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return undefined;
    }
    throw e;
  }
}

/**
 * The `--model <dir|shipped>` option of the evaluation commands: the learned confidence model in
 * that directory, regardless of its selection.json; undefined without the option (the formula);
 * null (reported) when the directory holds no model.
 */
export async function loadModelOption(value: string | undefined, command: string): Promise<ConfidenceModel | undefined | null> {
  if (value === undefined) return undefined;
  // The plain-TypeScript forward pass: evaluating a model needs no TensorFlow.js.
  const { loadConfidenceModel, shippedModelDir } = await import('../model/load.js');
  const loaded = await loadConfidenceModel(value === 'shipped' ? shippedModelDir() : value, { ignoreSelection: true });
  if (loaded === undefined) {
    complain(command, `--model ${value}: no model (model.json) there`, EXIT.usage);
    return null;
  }
  return loaded.model;
}
