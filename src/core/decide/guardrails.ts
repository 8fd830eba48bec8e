import type { ActionKind, GuardrailRule } from '../../domain/decision.js';
import { hhmm } from '../clock-text.js';

/**
 * Guardrails (seed 004, section 12), as pure checks over a small state. Each check returns the
 * rule that blocks, so a blocked proposal is still reported with its reason.
 */

export interface GuardrailParams {
  maxShiftPercent: number;
  shiftIntervalMinutes: number;
  approvalAbovePercent: number;
  freezeMinutes: number;
}

export interface GuardrailState {
  /** The change in flight (executed, not yet validated), across all scopes. */
  inFlight: { recommendationId: string; scope: string; until: number } | null;
  /** Executed shifts, for the rate cap. */
  shifts: { ts: number; percent: number }[];
  /** Freeze windows per scope (service/stack). */
  frozenUntil: Record<string, number>;
}

export interface Proposal {
  action: ActionKind;
  /** A revert undoes an action: it is not held by the freeze nor counted against the shift cap. */
  revert?: boolean;
  scope: string;
  percent: number;
  /** Stacks the action touches (the delta stack and any traffic targets). */
  touches: string[];
}

export interface GuardrailVerdict {
  blockedBy: GuardrailRule | null;
  /** The percent allowed by the rate cap (may be lower than proposed). */
  percent: number;
  requiresApproval: boolean;
  notes: string[];
}

export function newGuardrailState(): GuardrailState {
  return { inFlight: null, shifts: [], frozenUntil: {} };
}

export function checkGuardrails(
  p: Proposal,
  state: GuardrailState,
  now: number,
  params: GuardrailParams,
  isPrimary: (stack: string) => boolean,
): GuardrailVerdict {
  const notes: string[] = [];
  let percent = p.percent;
  let blockedBy: GuardrailRule | null = null;

  const frozen = state.frozenUntil[p.scope];
  if (p.revert !== true && frozen !== undefined && frozen > now) {
    blockedBy = 'freeze_window';
    notes.push(`${p.scope} is frozen until ${hhmm(frozen)} after the last action`);
  }
  // A revert restores a known state: it waits for nothing in flight (its siblings, after a
  // shift to several stacks, are reverts too).
  if (blockedBy === null && p.revert !== true && state.inFlight !== null && state.inFlight.until > now) {
    blockedBy = 'one_change_at_a_time';
    notes.push(`${state.inFlight.recommendationId} on ${state.inFlight.scope} is still in flight until ${hhmm(state.inFlight.until)}`);
  }
  if (p.action === 'shift_traffic' && p.revert !== true) {
    const since = now - params.shiftIntervalMinutes * 60_000;
    const used = state.shifts.filter((s) => s.ts > since).reduce((a, s) => a + s.percent, 0);
    const left = Math.max(0, params.maxShiftPercent - used);
    if (percent > left) {
      notes.push(`shift capped at ${params.maxShiftPercent} % per ${params.shiftIntervalMinutes} min (${used} % used)`);
      percent = left;
    }
    if (percent <= 0 && blockedBy === null) blockedBy = 'shift_rate_cap';
  }
  const primary = p.touches.filter(isPrimary);
  const requiresApproval =
    (p.action === 'shift_traffic' && percent > params.approvalAbovePercent) || (primary.length > 0 && p.action !== 'observe' && p.action !== 'none');
  if (requiresApproval)
    notes.push(
      primary.length > 0
        ? `touches primary stack ${primary.join(', ')}: human approval required`
        : `shift above ${params.approvalAbovePercent} %: human approval required`,
    );
  return { blockedBy, percent, requiresApproval, notes };
}

/** Record an executed action: in flight until validated, shifts counted (not reverts), scope frozen. */

/** Undo a recorded execution whose controller failed: nothing changed in production. */
export function forgetExecution(state: GuardrailState, recommendationId: string, scope: string, at: number): void {
  if (state.inFlight?.recommendationId === recommendationId) state.inFlight = null;
  state.shifts = state.shifts.filter((s) => s.ts !== at);
  delete state.frozenUntil[scope];
}

export function recordExecution(
  state: GuardrailState,
  recommendationId: string,
  scope: string,
  action: ActionKind,
  percent: number,
  now: number,
  validationMinutes: number,
  params: GuardrailParams,
  revert = false,
): void {
  state.inFlight = { recommendationId, scope, until: now + validationMinutes * 60_000 };
  if (action === 'shift_traffic' && !revert) state.shifts.push({ ts: now, percent });
  state.frozenUntil[scope] = now + params.freezeMinutes * 60_000;
  const horizon = now - params.shiftIntervalMinutes * 60_000;
  state.shifts = state.shifts.filter((s) => s.ts > horizon);
}
