import { PHASE_NAMES, type ActionKind, type IncidentSignal, type CauseRecord, type ConfidenceEvidence, type Incident, type IncidentDelta, type PhaseName, type PhaseRecord, type PhaseResult, type Recommendation } from '../../domain/decision.js';
import type { ContextEvent, Signal, StackHealthEvent } from '../../domain/types.js';
import type { DecisionConfig } from '../../config/decision.js';
import type { Correlation } from '../correlate/context-index.js';
import type { ConfidenceModel } from './confidence.js';
import { checkGuardrails, type GuardrailState } from './guardrails.js';
import { hhmm } from '../clock-text.js';
import { explainEnd } from '../context/explained-windows.js';

/**
 * The ten gated ITR phases of seed 004 section 8.4, as one pure function over an incident and
 * what is known around it. Every phase records pass/fail/skip/pending with evidence; the first
 * gate that fails decides the (non-)action, and the later phases say they were not reached.
 */

export interface WorkflowInput {
  incident: Incident;
  now: number;
  correlation: Correlation;
  /** Latest delta verdict per metric of this service. */
  deltas: ReadonlyMap<string, IncidentDelta>;
  /** Latest health of every stack of this service. */
  health: ReadonlyMap<string, StackHealthEvent>;
  shareOf: (stack: string) => number | undefined;
  /** A maintenance or chaos event running on that stack now: it takes no shifted traffic. */
  outOfService: (stack: string) => ContextEvent | undefined;
  guardrails: GuardrailState;
  config: DecisionConfig;
  warnScore: number;
  horizonMinutes: number;
  confidence: ConfidenceModel;
  isPrimary: (stack: string) => boolean;
}

/** What the workflow concludes: the recommendation's decision fields, plus whether it may run now. */
export interface WorkflowDecision extends Pick<Recommendation, 'action' | 'percent' | 'targets' | 'confidence' | 'evidence' | 'requiresApproval' | 'blockedBy' | 'phases' | 'cause' | 'predictedBreachAt' | 'reason'> {
  /** True when the action may execute now (approved or not requiring approval, not blocked). */
  executable: boolean;
  /** Waiting for a human. */
  awaitingApproval: boolean;
}

const MIN = 60_000;
/** A deviation stamped up to this much before a shift's event still follows it (minute buckets). */
const SHIFT_ONSET_SLACK_MIN = 2;

/**
 * Signals that put an SLO at risk by degrading: business metrics (authoritative), and reliability
 * metrics that have an SLO gate. A restart count or another ungated reliability metric is evidence,
 * not a reason to move traffic on its own (a rolling deploy restarts every pod).
 */
function threatensSlo(s: Incident['signals'][string]): boolean {
  return s.signal === 'business' || (s.signal === 'reliability' && s.gate !== null);
}

export function runWorkflow(w: WorkflowInput): WorkflowDecision {
  const inc = w.incident;
  const phases: PhaseRecord[] = [];
  const record = (name: PhaseName, result: PhaseResult, evidence: string): void => {
    phases.push({ name, result, evidence });
  };
  const active = Object.values(inc.signals).filter((s) => !s.recovered);
  // A verdict against a baseline that has not seen a season yet is a warning, not proof.
  const confirmed = active.filter((s) => s.stage === 'confirmed' && !s.coldStart);
  const firing = Object.values(inc.alerts).filter((a) => a.status === 'firing');
  // A relative (business) gate is only as good as its baseline; an absolute gate is proof on its own.
  const breached = Object.keys(inc.breaches).filter((m) => inc.signals[m] === undefined || !inc.signals[m]!.coldStart || inc.signals[m]!.signal !== 'business');
  const firm = firmPredictions(inc, w.now, confirmed);
  const predictedBreachAt = earliestBreach(firm);
  const evidence = gatherEvidence(w, confirmed.length > 0 ? confirmed : active, predictedBreachAt);
  const confidence = w.confidence(evidence);

  const finish = (action: ActionKind, reason: string, cause: CauseRecord, extra: Partial<WorkflowDecision> = {}): WorkflowDecision => {
    const reached = new Set(phases.map((p) => p.name));
    for (const name of PHASE_ORDER) if (!reached.has(name)) record(name, 'skip', `not reached: ${reason}`);
    phases.sort((a, b) => PHASE_ORDER.indexOf(a.name) - PHASE_ORDER.indexOf(b.name));
    return { action, percent: 0, targets: [], confidence, evidence, requiresApproval: false, blockedBy: null, executable: false, awaitingApproval: false, phases, cause, predictedBreachAt, reason, ...extra };
  };

  // 1. Trigger ingestion.
  const triggers = [
    ...active.map((s) => `${s.metric} ${s.stage} at ${fmt(s.score)}σ`),
    ...livePredictions(inc, w.now).map((p) => `${p.metric} predicted to cross ${p.slo.comparator} ${p.slo.limit} at ${hhmm(p.breachAt)}`),
    ...breached.map((m) => `${m} past its SLO gate`),
    ...firing.map((a) => `alert ${a.name} firing`),
  ];
  if (triggers.length === 0) {
    record('trigger', 'fail', 'no active trigger: every signal has recovered');
    return finish('none', 'recovered', { kind: 'unknown', reason: 'all signals recovered' });
  }
  record('trigger', 'pass', triggers.slice(0, 6).join('; ') + (triggers.length > 6 ? `; +${triggers.length - 6} more` : ''));

  // 2. Persistence validation.
  if (confirmed.length === 0 && breached.length === 0 && firing.length === 0) {
    const cold = active.filter((s) => s.coldStart).map((s) => s.metric);
    record('persistence_validation', 'fail', `warn only: ${active.map((s) => `${s.metric} ${s.persistence.hits}/${s.persistence.of} points`).join(', ')} beyond the bound, re-check not yet satisfied${cold.length > 0 ? `; ${cold.join(', ')} judged on a cold baseline (no season seen yet)` : ''}`);
    return finish('observe', 'anomaly not yet sustained', { kind: 'unknown', reason: 'not yet sustained' });
  }
  record(
    'persistence_validation',
    'pass',
    [...confirmed.map((s) => `${s.metric} sustained ${s.persistence.hits}/${s.persistence.of} points, ${fmt(s.score)}σ (peak ${fmt(s.peakScore)}σ)`), ...breached.map((m) => `${m} breached`), ...firing.map((a) => `alert ${a.name} firing`)].join('; '),
  );

  const { verdicts, local, riskMetrics } = stackVerdicts(w, active, confirmed, breached, firm);

  // 3. Event correlation.
  const c = w.correlation;
  // A global event (a campaign, a platform-wide test) explains what every stack does under it, not
  // one stack going bad while its peers, under the same event, do not: an incident can happen
  // during a campaign. A stack-scoped event explains its stack, whatever the peers do.
  // Singled out on errors or business, that is: latency and capacity rising with the load is what
  // a campaign or a load test does.
  const harmed = new Set([...confirmed.filter(threatensSlo).map((s) => s.metric), ...breached.filter((m) => inc.signals[m] !== undefined && threatensSlo(inc.signals[m]!))]);
  const singledOut = c.explaining !== undefined && c.explaining.stack === undefined ? local.filter((d) => harmed.has(d.metric)) : [];
  if (c.explaining !== undefined && singledOut.length > 0) {
    c.notes.push(`${c.explaining.kind} ${c.explaining.id} is global, but ${singledOut.map((d) => d.metric).join(', ')} single out ${inc.stack} against peers under the same ${c.explaining.kind}`);
  } else if (c.explaining !== undefined) {
    const e = c.explaining;
    record('event_correlation', 'stop', `explained by ${e.kind} ${e.id}${e.stack === undefined ? ' (global)' : ` on ${e.stack}`}: expected behaviour, no page`);
    return finish('none', `explained by ${e.kind} ${e.id}`, { kind: 'explained', reason: `${e.kind} ${e.id} explains the deviation`, event: pick(e) });
  }
  const reliabilityOrBusiness = confirmed.some((s) => s.signal === 'reliability' || s.signal === 'business') || breached.some((m) => inc.signals[m]?.signal === 'reliability' || inc.signals[m]?.signal === 'business');
  if (c.shareGain !== undefined && !reliabilityOrBusiness) {
    // Traffic moved onto this stack and its latency/capacity rose within the warm-up allowance:
    // cold caches and the extra load, not a failure. The deviations that began then (none before
    // the shift) are the shift's for as long as they last, since the baseline knows the old share
    // (capping it at an hour put traffic back and forth on the kit's cold-cache traps); a deviation
    // that begins later, or any error or business impact, is judged on its own.
    const g = c.shareGain;
    const allowance = w.config.correlation.warmUpAllowanceMinutes;
    const firstAfter = (Math.min(...active.map((s) => s.firstTs)) - g.event.ts) / MIN;
    const lastAfter = (Math.max(...active.map((s) => s.firstTs)) - g.event.ts) / MIN;
    if (firstAfter >= -SHIFT_ONSET_SLACK_MIN && lastAfter <= allowance) {
      record('event_correlation', 'stop', `cold-cache warm-up: ${g.event.id} moved ${inc.stack} from ${g.from.toFixed(0)} % to ${g.to.toFixed(0)} % at ${hhmm(g.event.ts)}, and ${active.map((s) => s.metric).join(', ')} began deviating within ${allowance} min of it; latency/capacity only, errors and business normal`);
      return finish('none', 'cold-cache warm-up after a traffic shift: not a failure, no further shift', { kind: 'cold_cache', reason: `traffic moved onto ${inc.stack} by ${g.event.id}`, event: pick(g.event) });
    }
  }
  const cause = c.cause;
  if (cause !== undefined) record('event_correlation', 'pass', `likely cause: ${cause.kind} ${cause.id} on ${inc.stack}${versionNote(cause)}; ${c.notes.join('; ')}`);
  else record('event_correlation', 'skip', c.notes.length > 0 ? `no causal event; seen: ${c.notes.join('; ')}` : 'no context event near the episode');
  const causeRecord: CauseRecord =
    cause !== undefined
      ? { kind: cause.kind === 'config_change' ? 'config_change' : 'deployment', reason: `${cause.kind} ${cause.id} on ${inc.stack} shortly before the episode`, event: pick(cause) }
      : { kind: 'unknown', reason: 'no correlated change: fault of the stack itself (capacity, dependency, infrastructure)' };

  // 4. Delta stack identification (verdicts gathered before phase 3, which needs them too).
  const global = verdicts.filter((d) => d.scope === 'global');
  const globalRisk = global.filter((d) => riskMetrics.has(d.metric));
  if (globalRisk.length > 0 && !local.some((d) => riskMetrics.has(d.metric))) {
    record('delta_stack_identification', 'stop', `global: ${globalRisk[0]!.reason}`);
    return finish('none', 'the metric at risk moves on all stacks: not a routing problem', { kind: 'global', reason: globalRisk[0]!.reason });
  }
  if (local.length === 0) {
    if (global.length > 0) {
      record('delta_stack_identification', 'stop', `global: ${global[0]!.reason}`);
      return finish('none', 'all stacks move together: not a routing problem', { kind: 'global', reason: global[0]!.reason });
    }
    const other = verdicts.find((d) => d.scope !== 'local') ?? verdicts.find((d) => d.scope === 'local');
    record('delta_stack_identification', 'fail', other !== undefined ? `${other.scope}: ${other.reason}` : 'no cross-stack verdict yet for these metrics');
    return finish('observe', other?.scope === 'insufficient' ? 'too little data behind the deviating stack to single it out' : 'no stack singled out yet', causeRecord);
  }
  record('delta_stack_identification', 'pass', local.map((d) => `${d.metric}: ${d.reason}`).join('; '));

  // 5. Dependency checks: a rollback needs the previous version; a shift needs healthy targets with headroom.
  let action: ActionKind = 'shift_traffic';
  if (cause !== undefined) action = isRollingOut(cause, w.now) ? 'pause_rollout' : 'rollback';
  const share = w.shareOf(inc.stack);
  const targets = healthyTargets(w, Math.min(w.config.guardrails.maxShiftPercent, share ?? w.config.guardrails.maxShiftPercent));
  const percent = targets.percent;
  if (action === 'shift_traffic') {
    if (targets.ok.length === 0) {
      record('dependency_checks', 'fail', `no healthy target with headroom: ${targets.notes.join('; ') || 'no other stack reports'}`);
      return finish('observe', 'nowhere safe to move traffic', causeRecord);
    }
    record('dependency_checks', 'pass', `targets ${targets.ok.join(', ')}: ${targets.notes.join('; ')}`);
  } else {
    const prev = cause!.attributes['previousVersion'];
    if (action === 'rollback' && (typeof prev !== 'string' || prev === '')) {
      // A rollback needs a version to return to; the event does not name one. Moving traffic
      // away is still safe when a peer can take it; otherwise only a human can decide.
      if (targets.ok.length === 0) {
        record('dependency_checks', 'fail', `roll back ${cause!.id}: its event names no previousVersion, and no healthy target with headroom for a shift: ${targets.notes.join('; ') || 'no other stack reports'}`);
        return finish('observe', 'rollback target unknown and nowhere safe to move traffic', causeRecord);
      }
      action = 'shift_traffic';
      record('dependency_checks', 'pass', `roll back ${cause!.id} not possible: its event names no previousVersion; shift to ${targets.ok.join(', ')} instead: ${targets.notes.join('; ')}`);
    } else {
      record('dependency_checks', 'pass', `${action === 'rollback' ? 'roll back' : 'pause'} ${cause!.id}${typeof prev === 'string' ? ` to ${prev}` : ''}; peers: ${targets.notes.join('; ') || 'none reporting'}`);
    }
  }

  // 6. Confidence scoring, gated on something worth acting for: an SLO at risk. A deviation far
  // from every gate, with errors and business fine, is watched, not mitigated.
  const sloRisk = [
    ...breached.map((m) => `${m} breached`),
    ...firm.map((p) => `${p.metric} breach predicted at ${hhmm(p.breachAt)}`),
    ...confirmed.filter(threatensSlo).map((s) => `${s.signal} ${s.metric} degraded`),
    ...firing.map((a) => `alert ${a.name}`),
  ];
  const bundle = `persistence ${fmt(evidence.persistence)}, magnitude ${fmt(evidence.magnitude)}σ, separation ${fmt(evidence.separation)}σ, business ${evidence.businessImpact}, correlation ${evidence.correlation}, completeness ${fmt(evidence.dataCompleteness)}, breach ${evidence.minutesToBreach === null ? 'not predicted' : `in ${Math.round(evidence.minutesToBreach)} min`}`;
  if (sloRisk.length === 0) {
    record('confidence_scoring', 'fail', `no SLO at risk (no breach predicted, errors and business normal): watching; confidence ${confidence.toFixed(2)} (${bundle})`);
    return finish('observe', 'deviation without SLO risk', causeRecord);
  }
  if (confidence < w.config.confidence.minimum) {
    record('confidence_scoring', 'fail', `confidence ${confidence.toFixed(2)} < ${w.config.confidence.minimum} (${bundle})`);
    return finish('observe', `confidence ${confidence.toFixed(2)} below ${w.config.confidence.minimum}`, causeRecord);
  }
  record('confidence_scoring', 'pass', `confidence ${confidence.toFixed(2)} (${bundle}); at risk: ${sloRisk.join(', ')}`);

  // 7-10. Approval, execution, validation, freeze: guardrails decide.
  const touches = action === 'shift_traffic' ? [inc.stack, ...targets.ok] : [inc.stack];
  const g = checkGuardrails({ action, scope: scopeOf(inc), percent: action === 'shift_traffic' ? percent : 0, touches }, w.guardrails, w.now, w.config.guardrails, w.isPrimary);
  const mode = w.config.execution.approval;
  // A rollback to a version Harbinger inferred (the deployment event did not name it) is a human's call.
  const inferredFrom = action === 'rollback' ? cause?.attributes['previousVersionFrom'] : undefined;
  const notes = typeof inferredFrom === 'string' ? [...g.notes, `rollback target ${String(cause!.attributes['previousVersion'])} inferred from ${inferredFrom}: human approval required`] : [...g.notes];
  if (mode === 'human') notes.push('every mitigation waits for a human (execution.approval: human)');
  const requiresApproval = mode === 'human' || g.requiresApproval || typeof inferredFrom === 'string';
  if (!requiresApproval) record('human_approval', 'skip', `not required (execution.approval: ${mode})${notes.length > 0 ? `: ${notes.join('; ')}` : ''}`);
  else if (mode === 'auto') record('human_approval', 'pass', `${notes.length > 0 ? `${notes.join('; ')}; ` : ''}auto-approved (execution.approval: auto)`);
  else record('human_approval', 'pending', `${notes.join('; ')}; awaiting a human decision`);
  const awaitingApproval = requiresApproval && mode !== 'auto';
  if (g.blockedBy !== null) record('execution', 'fail', `blocked by ${g.blockedBy}: ${g.notes.join('; ')}`);
  else if (awaitingApproval) record('execution', 'pending', 'waits for approval');
  else record('execution', 'pass', describeAction(action, inc.stack, g.percent, targets.ok, cause));
  const executable = g.blockedBy === null && !awaitingApproval;
  record('post_action_validation', executable || awaitingApproval ? 'pending' : 'skip', `re-checks ${inc.stack}'s SLO metrics ${w.config.execution.validationMinutes} min after execution`);
  record('freeze_window', executable || awaitingApproval ? 'pending' : 'skip', `no new action on ${scopeOf(inc)} for ${w.config.guardrails.freezeMinutes} min after execution`);
  return {
    action,
    percent: action === 'shift_traffic' ? g.percent : 0,
    targets: action === 'shift_traffic' ? targets.ok : [],
    confidence,
    evidence,
    requiresApproval,
    blockedBy: g.blockedBy,
    executable,
    awaitingApproval,
    phases,
    cause: causeRecord,
    predictedBreachAt,
    reason: describeAction(action, inc.stack, g.percent, targets.ok, cause),
  };
}

const PHASE_ORDER: readonly PhaseName[] = PHASE_NAMES;

export function scopeOf(inc: Pick<Incident, 'service' | 'stack'>): string {
  return `${inc.service}/${inc.stack}`;
}

function gatherEvidence(w: WorkflowInput, signals: Incident['signals'][string][], breachAt: number | null): ConfidenceEvidence {
  const inc = w.incident;
  // Anomaly events mark transitions only; the minute-by-minute health of every stack says how
  // large the deviation is now and how far this stack stands from its peers now.
  const own = w.health.get(inc.stack);
  let persistence = 0;
  let magnitude = 0;
  let separation = 0;
  for (const s of signals) {
    const p = s.stage === 'confirmed' ? s.persistence.hits / Math.max(1, s.persistence.of) : 0;
    if (p > persistence) persistence = p;
    const now = own?.scores[s.signal] ?? -Infinity;
    const mag = Math.max(s.peakScore, now);
    if (mag > magnitude) magnitude = mag;
    let peer = 0;
    for (const h of w.health.values()) if (h.stack !== inc.stack && (h.scores[s.signal] ?? 0) > peer) peer = h.scores[s.signal]!;
    if (w.deltas.get(s.metric)?.scope === 'local' && w.deltas.get(s.metric)?.stack === inc.stack && now - peer > separation) separation = now - peer;
  }
  if (Object.keys(inc.breaches).length > 0) persistence = Math.max(persistence, 1);
  for (const d of w.deltas.values()) if (d.scope === 'local' && d.stack === inc.stack && inc.signals[d.metric] !== undefined && d.separation > separation) separation = d.separation;
  const business = Object.values(inc.signals).filter((s) => s.signal === 'business' && !s.recovered);
  const businessImpact = business.some((s) => s.stage === 'confirmed') ? 1 : business.length > 0 ? 0.5 : 0;
  const correlation = w.correlation.explaining !== undefined ? 0 : w.correlation.cause !== undefined ? 1 : 0.5;
  const h = w.health.get(inc.stack);
  const fresh = h !== undefined && w.now - h.ts <= w.config.incident.staleAfterMinutes * MIN;
  const dataCompleteness = !fresh ? 0 : h.known > 0 ? Math.min(1, h.reporting / h.known) : 0;
  const minutesToBreach = Object.keys(inc.breaches).length > 0 ? 0 : breachAt === null ? null : Math.max(0, (breachAt - w.now) / MIN);
  // Context for learned models only; the formula reads the seven fields above.
  const magnitudes: Partial<Record<Signal, number>> = {};
  for (const s of signals) {
    const mag = Math.max(s.peakScore, own?.scores[s.signal] ?? -Infinity);
    if (mag > (magnitudes[s.signal] ?? -Infinity)) magnitudes[s.signal] = mag;
  }
  const gain = w.correlation.shareGain;
  const share = w.shareOf(inc.stack);
  return {
    persistence,
    magnitude,
    separation,
    businessImpact,
    correlation,
    dataCompleteness,
    minutesToBreach,
    magnitudes,
    signals: (Object.keys(magnitudes) as Signal[]).sort(),
    causeKind: w.correlation.cause?.kind ?? 'none',
    shareGain: gain === undefined ? 0 : Math.max(0, gain.to - gain.from),
    ...(share !== undefined ? { trafficShare: share } : {}),
    peers: [...w.health.keys()].filter((s) => s !== inc.stack).length,
    hourOfDay: (((w.now % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000,
  };
}

/**
 * The cross-stack verdicts that bear on this incident: the latest per active metric, from this
 * episode only (one from an earlier episode of the metric, hours ago, proves nothing now; the
 * detector says nothing when an episode ends), a local one made within the tail of a global
 * episode downgraded to partial. `local`: those naming this stack, strongest first. `riskMetrics`:
 * the metrics that put an SLO at risk; if one of them moves on every stack the episode is global,
 * even when a side metric (a busier CPU) happens to single this stack out.
 */
function stackVerdicts(w: WorkflowInput, active: IncidentSignal[], confirmed: IncidentSignal[], breached: string[], firm: readonly Incident['predictions'][string][]): { verdicts: IncidentDelta[]; local: IncidentDelta[]; riskMetrics: Set<string> } {
  const inc = w.incident;
  const metrics = new Set([...confirmed.map((s) => s.metric), ...breached, ...active.map((s) => s.metric)]);
  const tail = w.config.correlation.globalTailMinutes * MIN;
  const verdicts = [...metrics]
    .map((m) => w.deltas.get(m))
    .filter((d): d is IncidentDelta => d !== undefined && d.ts >= (inc.signals[d.metric]?.firstTs ?? -Infinity) - MIN)
    .map((d) =>
      d.scope === 'local' && d.afterGlobalAt !== undefined && w.now - d.afterGlobalAt < tail
        ? { ...d, scope: 'partial' as const, reason: `${d.reason}, but ${d.metric} moved on every stack until ${hhmm(d.afterGlobalAt)}: the tail of a global episode (re-judged after ${w.config.correlation.globalTailMinutes} min)` }
        : d,
    );
  const local = verdicts.filter((d) => d.scope === 'local' && d.stack === inc.stack).sort((a, b) => b.separation - a.separation);
  const riskMetrics = new Set([...breached, ...firm.map((p) => p.metric), ...confirmed.filter(threatensSlo).map((s) => s.metric)]);
  return { verdicts, local, riskMetrics };
}

function healthyTargets(w: WorkflowInput, percent: number): { ok: string[]; notes: string[]; percent: number } {
  const notes: string[] = [];
  const g = w.config.guardrails;
  const candidates = [...w.health.values()].filter((h) => h.stack !== w.incident.stack).sort((a, b) => (a.stack < b.stack ? -1 : 1));
  // First pass: who is fresh, reporting and healthy. A stack that sends nothing is not healthy,
  // it is unknown: never act on a gap.
  const healthy: { h: StackHealthEvent; worst: { sig: string; v: number } }[] = [];
  for (const h of candidates) {
    if (w.now - h.ts > w.config.incident.staleAfterMinutes * MIN) {
      notes.push(`${h.stack} stale (last data ${Math.round((w.now - h.ts) / MIN)} min ago)`);
      continue;
    }
    const away = w.outOfService(h.stack);
    if (away !== undefined) {
      notes.push(`${h.stack} under ${away.kind} ${away.id} until ${hhmm(explainEnd(away))}: not a target`);
      continue;
    }
    if (h.known === 0 || h.reporting / h.known < 0.5) {
      notes.push(`${h.stack} not reporting (${h.reporting} of ${h.known} series this minute)`);
      continue;
    }
    // Health is what users feel (latency, errors, business); capacity is judged by headroom below,
    // so a target merely busier than its usual self still qualifies.
    const worst = Object.entries(h.scores).reduce((m, [sig, v]) => (sig !== 'capacity' && v !== undefined && v > m.v ? { sig, v } : m), { sig: '', v: -Infinity });
    if (worst.v >= g.healthyScore) {
      notes.push(`${h.stack} degraded (${worst.sig} ${fmt(worst.v)}σ${h.inEpisode.length > 0 ? `; in episode: ${h.inEpisode.join(', ')}` : ''})`);
      continue;
    }
    healthy.push({ h, worst });
  }
  // Second pass: headroom. Each target can take the points that keep its saturation, scaled by
  // its new share, under the limit. The shift is split evenly over the targets that take it, so
  // it is k times the k-th largest room: the k with the largest shift wins (one tight target does
  // not cap the others; on a tie, more targets), never above the cap. A smaller shift now beats none (the guardrails allow
  // another step once this one is validated), but not below the plan's first step unless the full
  // shift was that small to begin with (a stack with 3 % of the traffic can give away 3 %).
  const room = (h: StackHealthEvent): number => {
    const share = w.shareOf(h.stack);
    if (h.saturation === null || h.saturation <= 0) return Infinity;
    if (share === undefined || share <= 0) return h.saturation < g.maxTargetSaturation ? Infinity : 0;
    return Math.max(0, (g.maxTargetSaturation / h.saturation - 1) * share);
  };
  const byRoom = healthy.map((t) => ({ ...t, room: room(t.h) })).sort((a, b) => b.room - a.room);
  let fit = 0;
  let takers = 0;
  byRoom.forEach((t, i) => {
    const k = i + 1;
    const p = Math.min(percent, Math.floor(t.room * k));
    // Ties go to more targets: the same shift spread thinner.
    if (p > 0 && p >= fit) [fit, takers] = [p, k];
  });
  const shift = fit >= Math.min(MIN_SHIFT_PERCENT, percent) && fit > 0 ? fit : 0;
  const able = byRoom.slice(0, shift > 0 ? takers : 0);
  const ok: string[] = [];
  for (const { h, worst } of healthy) {
    const share = w.shareOf(h.stack);
    const taking = able.some((a) => a.h === h);
    const projected = h.saturation === null ? null : share !== undefined && share > 0 ? (h.saturation * (share + (taking ? shift : percent) / (taking ? able.length : healthy.length))) / share : h.saturation;
    if (!taking) {
      const r = byRoom.find((t) => t.h === h)!.room;
      if (percent <= 0) notes.push(`${h.stack} healthy, but ${w.incident.stack} carries no traffic to move`);
      else if (shift > 0 && r >= 1) notes.push(`${h.stack} not needed (room for ${Math.floor(r)} %; the others take the ${shift} %)`);
      else notes.push(`${h.stack} lacks headroom (saturation ${fmt(h.saturation ?? NaN)} → ${fmt(projected ?? NaN)} after a ${percent} % shift)`);
      continue;
    }
    ok.push(h.stack);
    notes.push(`${h.stack} healthy (worst ${worst.sig || 'n/a'} ${fmt(worst.v)}σ${projected !== null ? `, saturation ${fmt(h.saturation!)} → ${fmt(projected)}` : ''})`);
  }
  if (shift > 0 && shift < percent) notes.push(`shift reduced from ${percent} % to ${shift} %: what the targets can take below saturation ${g.maxTargetSaturation}`);
  return { ok, notes, percent: shift };
}

/** Below this a shift is not worth making (and not worth a human's approval). */
const MIN_SHIFT_PERCENT = 5;

/** A prediction whose breach time passed without a breach was wrong: it no longer counts. */
const PREDICTION_GRACE_MS = 10 * MIN;

function livePredictions(inc: Incident, now: number): Incident['predictions'][string][] {
  return Object.values(inc.predictions).filter((p) => !inc.signals[p.metric]?.recovered && p.breachAt + PREDICTION_GRACE_MS >= now);
}

/**
 * Predictions that put an SLO at risk: those of a confirmed signal, or any while a signal with an SLO
 * gate is confirmed on the stack. A trend extrapolated from a warning (one point over the bound, or
 * three sigma after a deploy) beside nothing but a restart count is a hint for the evidence, not a
 * reason to move traffic.
 */
function firmPredictions(inc: Incident, now: number, confirmed: readonly IncidentSignal[]): Incident['predictions'][string][] {
  const gatedConfirmed = confirmed.some((s) => s.gate !== null);
  return livePredictions(inc, now).filter((p) => gatedConfirmed || confirmed.some((s) => s.metric === p.metric));
}

function earliestBreach(predictions: readonly Incident['predictions'][string][]): number | null {
  let best: number | null = null;
  for (const p of predictions) if (best === null || p.breachAt < best) best = p.breachAt;
  return best;
}

/** A deployment still rolling out (canary or progressive strategy, not finished) is paused, not rolled back. */
function isRollingOut(e: ContextEvent, now: number): boolean {
  const strategy = e.attributes['strategy'];
  const progressive = strategy === 'progressive' || strategy === 'rolling' || strategy === 'canary';
  return e.kind === 'deployment' && progressive && (e.endTs === undefined || e.endTs > now);
}

function describeAction(action: ActionKind, stack: string, percent: number, targets: string[], cause: ContextEvent | undefined): string {
  switch (action) {
    case 'shift_traffic':
      return `shift ${percent} % of traffic from ${stack} to ${targets.join(', ')}`;
    case 'rollback':
      return `roll back ${cause?.id ?? 'the last change'} on ${stack}${versionNote(cause, true)}`;
    case 'pause_rollout':
      return `pause the rollout of ${cause?.id ?? 'the current deployment'} on ${stack}`;
    default:
      return action;
  }
}

/** "(v1 → v2)" for a deployment; reversed for its rollback. */
function versionNote(e: ContextEvent | undefined, reverse = false): string {
  if (e === undefined) return '';
  const v = e.attributes['version'];
  const prev = e.attributes['previousVersion'];
  if (typeof v !== 'string') return '';
  if (typeof prev !== 'string') return ` (${v})`;
  return reverse ? ` (${v} → ${prev})` : ` (${prev} → ${v})`;
}

function pick(e: ContextEvent): CauseRecord['event'] {
  const out: NonNullable<CauseRecord['event']> = { id: e.id, kind: e.kind, ts: e.ts, attributes: e.attributes };
  if (e.stack !== undefined) out.stack = e.stack;
  if (e.service !== undefined) out.service = e.service;
  return out;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? (Math.abs(x) < 10 ? x.toFixed(2) : x.toFixed(1)) : String(x);
}

