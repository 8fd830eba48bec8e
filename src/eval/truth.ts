import { z } from 'zod';

/** The truth file next to each fixture (`<name>.truth.json`), validated on load. */
export const truthSchema = z.object({
  scenario: z.string(),
  description: z.string().default(''),
  start: z.string(),
  end: z.string(),
  stacks: z.record(z.string(), z.object({ share: z.number(), primary: z.boolean().default(false) })),
  incidents: z.array(
    z.object({
      stack: z.string(),
      service: z.string(),
      start: z.string(),
      sloBreachAt: z.string(),
      end: z.string(),
      cause: z.string(),
      causeEventId: z.string().nullable().default(null),
      expectedActions: z.array(z.enum(['rollback', 'shift_traffic', 'pause_rollout'])),
    }),
  ),
  traps: z.array(z.object({ kind: z.string(), start: z.string(), end: z.string(), description: z.string().default('') })).default([]),
  /** Scheduled events announced ahead, per stack: whether the stack would saturate (see fixtures/README.md). */
  scheduled: z
    .array(
      z.object({
        eventId: z.string(),
        stack: z.string(),
        start: z.string(),
        /** When the event ends (older truth files have none: the event's relief is then not scored). */
        end: z.string().optional(),
        saturates: z.boolean(),
        capacityFactorToGate: z.number(),
        expectedActions: z.array(z.enum(['pre_scale', 'shift_traffic'])),
      }),
    )
    .default([]),
});

export type Truth = z.infer<typeof truthSchema>;
