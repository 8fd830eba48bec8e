import type { z } from 'zod';
import type { ControllerContext } from './controller-context.js';
import { haproxyFromConfig, haproxySection } from './haproxy-controller.js';
import { DryRunController, type RoutingController } from './routing-controller.js';
import { webhookFromConfig, webhookSection } from './webhook-controller.js';

/** A routing controller as the configuration knows it: its own section (routing.<name>), when it has one, and a factory. */
export interface ControllerModule<S> {
  section?: z.ZodType;
  create(section: S, ctx: ControllerContext): RoutingController;
}

/**
 * Every routing controller, by the name `routing.controller` selects it with. Adding one is its
 * file (the controller, its section schema and factory) and one line here; the configuration
 * schema and the service are built from this table, and test/routing-conformance.test.ts runs the
 * port's contract against each.
 */
export const ROUTING_CONTROLLERS = {
  'dry-run': { create: (_: undefined, ctx: ControllerContext) => new DryRunController(ctx.log) },
  webhook: { section: webhookSection, create: webhookFromConfig },
  haproxy: { section: haproxySection, create: haproxyFromConfig },
} satisfies Record<string, ControllerModule<never>>;

export type ControllerName = keyof typeof ROUTING_CONTROLLERS;

/** The config sections of the controllers that have one, each optional (routing.<name>). */
export type ControllerSections = {
  [K in keyof typeof ROUTING_CONTROLLERS as (typeof ROUTING_CONTROLLERS)[K] extends { section: z.ZodType }
    ? K
    : never]: (typeof ROUTING_CONTROLLERS)[K] extends {
    section: infer Z extends z.ZodType;
  }
    ? z.ZodOptional<Z>
    : never;
};

export function controllerSections(): ControllerSections {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, m] of Object.entries(ROUTING_CONTROLLERS)) if ('section' in m) shape[name] = m.section.optional();
  return shape as ControllerSections;
}

/** The controller `routing.controller` selects, built from its section. */
export function controllerFromConfig(cfg: { controller: ControllerName } & Record<string, unknown>, ctx: ControllerContext): RoutingController {
  const m = ROUTING_CONTROLLERS[cfg.controller] as { create(section: unknown, ctx: ControllerContext): RoutingController };
  return m.create(cfg[cfg.controller], ctx);
}
