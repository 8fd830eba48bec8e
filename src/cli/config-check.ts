import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ConfigError, parseConfig, withServeDefaults } from '../config/load.js';
import { complain, EXIT, usageError, type Command } from './command.js';
import { unreadable } from './paths.js';

export const configCommand: Command = {
  name: 'config',
  summary: 'check a configuration file and print the configuration in effect (harbinger config check <file>)',
  usage: `Usage: harbinger config check <config.yaml> [--replay]

Validates the file as 'harbinger serve' reads it (a live service waits for a human unless the file
says who approves) and prints the whole configuration in effect, defaults included, as YAML: what
the service will run with, not what the file happens to mention. Unknown keys are errors, with the
known key they were probably meant to be. With --replay, as replay and eval read it instead (their
default approval is automatic). Exit code 0 when valid, 2 when not.

Options:
  --replay    check it as replay and eval read it
  -h, --help  show this help`,
  options: { replay: { type: 'boolean' } },
  maxPositionals: 2,
  async run(values, positionals) {
    const [verb, file] = positionals;
    if (verb !== 'check' || file === undefined) return usageError(this.name, "expected 'check <file>'");
    const problem = unreadable(file, 'file');
    if (problem !== undefined) return complain(this.name, `${file}: ${problem}`, EXIT.usage);
    let raw: Record<string, unknown>;
    try {
      raw = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
    } catch (e) {
      return complain(this.name, `${file}: not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`, EXIT.usage);
    }
    try {
      const config = parseConfig(values['replay'] === true ? raw : withServeDefaults(raw), file);
      process.stdout.write(
        `# ${file} is valid; the configuration in effect${values['replay'] === true ? ' for replay and eval' : ' for serve'}:\n${toYaml(config)}`,
      );
      return EXIT.ok;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      process.stderr.write(`${e.message}\n`);
      return EXIT.usage;
    }
  },
};
