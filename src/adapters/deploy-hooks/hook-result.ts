import type { z } from 'zod';

/**
 * What a deploy tool's payload means to Harbinger, decided by a pure mapping function: context
 * event records (in the input format, so they pass through the record parser replay uses), a note
 * saying why the payload changes nothing (answered 2xx, so the tool does not retry it forever), or
 * why it cannot be read at all (answered 400 with the reason).
 */
export type HookResult =
  | { kind: 'events'; records: EventRecord[] }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; reason: string; details?: string[] };

/** A context event in the input format (`type: "event"`), before the record parser has checked it. */
export interface EventRecord {
  type: 'event';
  ts: string | number;
  kind: 'deployment' | 'rollback';
  id: string;
  stack: string;
  service: string;
  attributes: Record<string, unknown>;
}

/** The change a payload reports, in the words of the issue: started, succeeded, failed, rolled back. */
export type ChangeStatus = 'started' | 'succeeded' | 'failed' | 'rolled_back';

export const ignored = (reason: string): HookResult => ({ kind: 'ignored', reason: `ignored: ${reason}` });

/** A zod failure as the 400 answer lists it: one line per field, naming it. */
export function invalid(what: string, error: z.ZodError): HookResult {
  return { kind: 'invalid', reason: `not ${what}`, details: error.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}

/** `name` through a rename table; a name not listed stays as it is. */
export function renamed(table: Readonly<Record<string, string>>, key: string): string {
  return Object.hasOwn(table, key) ? table[key]! : key;
}
