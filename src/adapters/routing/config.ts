import { z } from 'zod';

/** Which routing controller executes approved actions, and how to reach it. */
export const routingConfigSchema = z
  .strictObject({
    controller: z.enum(['dry-run', 'webhook', 'haproxy']).default('dry-run'),
    webhook: z
      .strictObject({
        url: z.string().url(),
        timeoutSeconds: z.number().positive().default(5),
        retries: z.number().int().min(0).default(3),
      })
      .optional(),
    haproxy: z
      .strictObject({
        /** HAProxy's stats socket with `level admin`. */
        socketPath: z.string().min(1),
        backend: z.string().min(1),
        /** Harbinger stack → HAProxy server name in that backend. */
        servers: z.record(z.string(), z.string()),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.controller === 'webhook' && r.webhook === undefined)
      ctx.addIssue({ code: 'custom', path: ['webhook'], message: "required when controller is 'webhook'" });
    if (r.controller === 'haproxy' && r.haproxy === undefined)
      ctx.addIssue({ code: 'custom', path: ['haproxy'], message: "required when controller is 'haproxy'" });
  });

export type RoutingConfig = z.infer<typeof routingConfigSchema>;
