import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfigFile, type HarbingerConfig } from '../config/load.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';

/** A CLI command: its name, one-line summary, full help text, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/** Parse argv for `cmd`; `--help` anywhere prints its usage. Returns the exit code. */
export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`harbinger ${cmd.name}: ${(e as Error).message}\n\n${cmd.usage}\n`);
    return 2;
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  return cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

/** Loads the --config file; on a configuration error prints it (every bad field) and returns undefined. */
export function loadConfigOrReport(path: string | undefined): HarbingerConfig | undefined {
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
  const { initBackend } = await import('../model/backend.js');
  const { loadConfidenceModel, shippedModelDir } = await import('../model/load.js');
  await initBackend();
  const loaded = await loadConfidenceModel(value === 'shipped' ? shippedModelDir() : value, { ignoreSelection: true });
  if (loaded === undefined) {
    process.stderr.write(`harbinger ${command}: no model in ${value}\n`);
    return null;
  }
  return loaded.model;
}
