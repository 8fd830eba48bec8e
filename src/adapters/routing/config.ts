import { z } from 'zod';
import { controllerSections, ROUTING_CONTROLLERS, type ControllerName } from './registry.js';

const NAMES = Object.keys(ROUTING_CONTROLLERS) as [ControllerName, ...ControllerName[]];

/** Which routing controller executes approved actions, and how to reach it (built from the registry). */
export const routingConfigSchema = z
  .strictObject({
    controller: z.enum(NAMES).default('dry-run'),
    ...controllerSections(),
  })
  .superRefine((r, ctx) => {
    // A controller with a section of its own needs it when selected.
    if ('section' in ROUTING_CONTROLLERS[r.controller] && (r as Record<string, unknown>)[r.controller] === undefined)
      ctx.addIssue({ code: 'custom', path: [r.controller], message: `required when controller is '${r.controller}'` });
  });

export type RoutingConfig = z.infer<typeof routingConfigSchema>;
