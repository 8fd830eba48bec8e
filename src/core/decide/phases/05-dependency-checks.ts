import { hhmm } from '../../clock-text.js';
import { healthIsFresh } from '../health-freshness.js';
import type { Phase } from './context.js';
import { isRollingOut, namedPrevious } from './evidence-text.js';
import { healthyTargets } from './healthy-targets.js';

/**
 * 5. Dependency checks: a rollback needs the previous version (or a person who knows it); a shift
 * needs healthy targets with headroom. A change this incident already rolled back is undone: the
 * fault that is back (or never left) is not that version's, and rolling it back again changes
 * nothing, so the next step is moving traffic. Held as "the same rollback again", a release's
 * errors back twenty minutes after its rollback stayed unmitigated for hours; proposed again, a
 * config change's pool cut rolled back at 18:48 (imitation seed 83, in replay) was rolled back a
 * second time at 20:03.
 *
 * Undone means the fault is still here: a rollback that cleared the stack is holding, however long
 * the detector takes to close its episode. Counted as undone on the rollback alone, an incident
 * whose errors had stopped five minutes after its rollback, its episode closed 30 minutes later by
 * a slow recovery rule, moved traffic the minute its freeze ended.
 */
export const dependencyChecks: Phase<'dependency_checks'> = (ctx) => {
  const { w, inc, cause, causeRecord } = ctx;
  const rolledBackAt = cause === undefined ? undefined : w.rolledBack?.(cause.id);
  if (rolledBackAt !== undefined && !stillDeviates(ctx))
    return {
      result: 'fail',
      code: 'rollback_holding',
      evidence: `${cause!.id} was rolled back at ${hhmm(rolledBackAt)} and ${inc.stack} is back inside its bounds`,
      end: { action: 'observe', reason: 'the rollback is holding', cause: causeRecord },
    };
  const undoneAt = rolledBackAt;
  ctx.action = cause === undefined || undoneAt !== undefined ? 'shift_traffic' : isRollingOut(cause, w.now) ? 'pause_rollout' : 'rollback';
  const share = w.shareOf(inc.stack);
  const targets = healthyTargets(w, Math.min(w.config.guardrails.maxShiftPercent, share ?? w.config.guardrails.maxShiftPercent));
  ctx.targets = targets;
  const peers = targets.notes.join('; ') || 'no other stack reports';
  if (ctx.action === 'shift_traffic') {
    const undone = undoneAt !== undefined ? `${cause!.id} was rolled back at ${hhmm(undoneAt)} and the fault is still here; ` : '';
    if (targets.ok.length === 0)
      return {
        result: 'fail',
        code: 'no_target',
        evidence: `${undone}no healthy target with headroom: ${peers}`,
        end: { action: 'observe', reason: 'nowhere safe to move traffic', cause: causeRecord },
      };
    return { result: 'pass', code: 'targets_ok', evidence: `${undone}targets ${targets.ok.join(', ')}: ${targets.notes.join('; ')}` };
  }
  const prev = namedPrevious(cause!);
  if (ctx.action === 'rollback' && prev === undefined) {
    // A rollback needs a version to return to; the event does not name one. Moving traffic
    // away is still safe when a peer can take it; otherwise the rollback is proposed for a person
    // to confirm (phase 7), who knows what ran before. Observing instead said nothing: a release
    // failing on the live colour of a blue/green pair, its standby at 1 % with no headroom, was
    // watched past its breach (imitation seed 63), and the recommendation feed, which reports a
    // change of action, never showed why.
    if (targets.ok.length === 0) {
      return {
        result: 'pass',
        code: 'rollback_unnamed',
        evidence: `roll back ${cause!.id} to what ran before it: its event names no previousVersion, and no peer can take traffic (${peers})`,
      };
    }
    ctx.action = 'shift_traffic';
    return {
      result: 'pass',
      code: 'rollback_as_shift',
      evidence: `roll back ${cause!.id} not possible: its event names no previousVersion; shift to ${targets.ok.join(', ')} instead: ${targets.notes.join('; ')}`,
    };
  }
  return {
    result: 'pass',
    code: ctx.action === 'rollback' ? 'rollback_ready' : 'pause_ready',
    evidence: `${ctx.action === 'rollback' ? 'roll back' : 'pause'} ${cause!.id}${prev !== undefined ? ` to ${prev}` : ''}; peers: ${targets.notes.join('; ') || 'none reporting'}`,
  };
};

/** Whether the stack's latest health (fresh, any signal but capacity) is still beyond the warn bound; no fresh health: assume so. */
function stillDeviates({ w, inc }: Parameters<Phase<'dependency_checks'>>[0]): boolean {
  const h = w.health.get(inc.stack);
  if (!healthIsFresh(h, w.now, w.config.incident.staleAfterMinutes)) return true;
  for (const [signal, score] of Object.entries(h.scores)) if (signal !== 'capacity' && score !== undefined && score >= w.warnScore) return true;
  return false;
}
