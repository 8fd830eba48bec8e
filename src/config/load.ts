import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { deepFreeze, detectionConfigSchema } from './detection.js';
import { decisionConfigSchema } from './decision.js';
import { kafkaConfigSchema } from '../adapters/kafka/config.js';
import { limitsConfigSchema } from './limits.js';
import { serverConfigSchema } from './service.js';
import { labelMappingSchema } from '../adapters/mapping/config.js';
import { prometheusConfigSchema } from '../adapters/prometheus/config.js';
import { healthChecksConfigSchema } from '../adapters/health-checks/config.js';
import { routingConfigSchema } from '../adapters/routing/config.js';
import { slackConfigSchema } from '../adapters/slack/config.js';
import { deployHooksConfigSchema } from '../adapters/deploy-hooks/config.js';
import { suggestKey } from './did-you-mean.js';

/** The whole configuration; each part owns its schema and defaults. */
export const harbingerConfigSchema = z
  .strictObject({
    detection: detectionConfigSchema.prefault({}),
    decision: decisionConfigSchema.prefault({}),
    server: serverConfigSchema.prefault({}),
    mapping: labelMappingSchema.prefault({}),
    prometheus: prometheusConfigSchema.optional(),
    healthChecks: healthChecksConfigSchema.optional(),
    routing: routingConfigSchema.prefault({}),
    slack: slackConfigSchema.prefault({}),
    kafka: kafkaConfigSchema.optional(),
    deployHooks: deployHooksConfigSchema.prefault({}),
    limits: limitsConfigSchema.prefault({}),
  })
  .strict()
  .refine((c) => c.decision.execution.actionsReachData || c.routing.controller === 'dry-run', {
    message: 'false only behind the dry-run controller: with a real controller it would turn off post-action validation and revert proposals',
    path: ['decision', 'execution', 'actionsReachData'],
  });

export type HarbingerConfig = z.infer<typeof harbingerConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** One line per problem, naming the field; an unknown key also says which known key it was probably meant to be. */
function describeIssue(i: z.core.$ZodIssue): string[] {
  const where = i.path.length > 0 ? i.path.join('.') : '(root)';
  if (i.code !== 'unrecognized_keys') return [`${where}: ${i.message}`];
  return i.keys.map((k) => {
    const hint = suggestKey(harbingerConfigSchema, i.path, k);
    return `${where}: unknown key '${k}'${hint !== undefined ? ` (did you mean '${hint}'?)` : ''}`;
  });
}

/** Validate once, then freeze: nothing downstream can mutate configuration. */
export function parseConfig(raw: unknown, source = 'config'): HarbingerConfig {
  const result = harbingerConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(source, result.error.issues.flatMap(describeIssue));
  }
  return deepFreeze(result.data);
}

/**
 * What `serve` changes in a configuration before parsing it: a live service fails closed, so unless
 * the file says who approves (`decision.execution.approval`, or the older `autoApprove`), every
 * mitigation waits for a human. Replays and evaluations keep the schema's default (`auto`).
 */
export function withServeDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  const decision = (raw['decision'] ?? {}) as Record<string, unknown>;
  const execution = (decision['execution'] ?? {}) as Record<string, unknown>;
  if (execution['autoApprove'] !== undefined || execution['approval'] !== undefined) return raw;
  return { ...raw, decision: { ...decision, execution: { ...execution, approval: 'human' } } };
}

/** Load a YAML or JSON file (YAML is a superset of JSON, so one parser reads both). */
export function loadConfigFile(path: string | undefined): HarbingerConfig {
  if (path === undefined) return parseConfig({}, 'defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read file: ${(e as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(path, [`not valid YAML/JSON: ${(e as Error).message}`]);
  }
  return parseConfig(raw, path);
}
