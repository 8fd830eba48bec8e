import { z } from 'zod';
import { MAX_NAME } from '../../ingest/record-parser.js';

/** A stack or service name, as the record parser accepts it (non-empty, bounded). */
const name = z.string().min(1).max(MAX_NAME);

/**
 * Renames from what a tool calls a place (a GitHub environment, an Argo CD cluster or label value,
 * a Flagger namespace) to a Harbinger stack or service. A name not listed is used as it is: an
 * environment already called `us-east-1` needs no entry.
 */
const renames = z.record(z.string().min(1).max(MAX_NAME), name).default({});

/**
 * The deploy tools' webhooks (`POST /v1/hooks/{github,argocd,flagger}`): how their payloads name
 * the stack and the service of a change. Secrets (HARBINGER_GITHUB_WEBHOOK_SECRET) come from the
 * environment or a file, never from here.
 */
export const deployHooksConfigSchema = z.strictObject({
  github: z
    .strictObject({
      /** GitHub environment → stack (`production-east: us-east-1`). */
      stacks: renames,
      /** Repository `owner/name` → service; unlisted: the repository's name. */
      services: renames,
    })
    .prefault({}),
  argocd: z
    .strictObject({
      /**
       * Where the stack comes from: an Application label (`stackLabel`), the destination cluster
       * (its name, else its server URL), or the destination namespace; then through `stacks`.
       */
      stackFrom: z.enum(['label', 'cluster', 'namespace']).default('label'),
      stackLabel: z.string().min(1).default('stack'),
      /** Application label naming the service; an Application without it is the service of its own name. */
      serviceLabel: z.string().min(1).default('service'),
      stacks: renames,
    })
    .prefault({}),
  flagger: z
    .strictObject({
      /** The stack a canary's new version runs as, unless the webhook's `metadata.stack` names one (as the rollout gate reads it). */
      stack: name.default('canary'),
      /** Canary `namespace/name` → service; unlisted: `metadata.service`, else the canary's name. */
      services: renames,
    })
    .prefault({}),
});

export type DeployHooksConfig = z.infer<typeof deployHooksConfigSchema>;
