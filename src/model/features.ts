import type { ConfidenceEvidence } from '../domain/decision.js';
import { SIGNALS, type Signal } from '../domain/types.js';

/**
 * The ONE definition of the confidence model's input: the evidence bundle of an ITR decision
 * (`ConfidenceEvidence`, filled by `gatherEvidence` in src/core/decide/itr-workflow.ts) as a fixed
 * vector of numbers, each scaled to roughly [0, 1] so no stored normalization is needed.
 *
 * Any change to the names, their order or their scaling is a new FEATURE_VERSION: a model stores
 * the version it was trained on and refuses vectors of another (`FeatureVersionError`). The training
 * log keeps the raw evidence bundles, not vectors, so old decisions re-featurize under a new version.
 *
 * Left out on purpose: the hour of day. It is recorded in the evidence (`hourOfDay`), but in the
 * synthetic fixtures every scenario puts its fault at about the same hour whatever the seed, so the
 * hour identifies the scenario rather than a risk and would not carry over to production
 * (the model card gives the ablation).
 */
export const FEATURE_VERSION = 1;

/** log(1 + x) scaled so that 0σ → 0 and 60σ → 1 (clipped): robust to the 30–50σ of a saturating metric. */
const SIGMA_CAP = 60;
/** Predicted breaches farther than this are as good as none (the default prediction horizon is 90 min). */
const BREACH_HORIZON_MIN = 120;

const clip = (x: number): number => (Number.isFinite(x) ? (x < 0 ? 0 : x > 1 ? 1 : x) : 0);
const sigma = (x: number | undefined): number => (x === undefined || !(x > 0) ? 0 : clip(Math.log1p(x) / Math.log1p(SIGMA_CAP)));

interface FeatureDef {
  name: string;
  /** What the value means, for the model card. */
  doc: string;
  f: (e: ConfidenceEvidence) => number;
}

const DEFS: readonly FeatureDef[] = [
  { name: 'persistence', doc: 'fraction of the re-check window beyond the bound (best confirmed metric)', f: (e) => clip(e.persistence) },
  { name: 'magnitude', doc: 'peak deviation, log-scaled σ (0σ → 0, 60σ → 1)', f: (e) => sigma(e.magnitude) },
  { name: 'separation', doc: 'score gap to the worst peer stack, log-scaled σ; 0 for global episodes', f: (e) => sigma(e.separation) },
  { name: 'peers', doc: 'other stacks reporting (sample size of the cross-stack comparison), /4, clipped', f: (e) => clip((e.peers ?? 1) / 4) },
  { name: 'business_impact', doc: 'business metric of the stack: 1 confirmed drop, 0.5 warning, 0 none', f: (e) => clip(e.businessImpact) },
  { name: 'traffic_share', doc: "the stack's traffic share (0..1; 0.5 when unknown)", f: (e) => clip((e.trafficShare ?? 50) / 100) },
  {
    name: 'business_impact_x_share',
    doc: 'business impact weighted by traffic share (a drop on a 5 % canary weighs less than on a 50 % stack)',
    f: (e) => clip(e.businessImpact) * clip((e.trafficShare ?? 50) / 100),
  },
  { name: 'correlation', doc: '1 a change on this stack precedes it, 0.5 nothing known, 0 an explaining event', f: (e) => clip(e.correlation) },
  { name: 'cause_deployment', doc: 'the correlated change is a deployment', f: (e) => (e.causeKind === 'deployment' ? 1 : 0) },
  { name: 'cause_config_change', doc: 'the correlated change is a configuration change', f: (e) => (e.causeKind === 'config_change' ? 1 : 0) },
  { name: 'share_gain', doc: 'percentage points of traffic newly moved onto the stack, /100', f: (e) => clip((e.shareGain ?? 0) / 100) },
  { name: 'data_completeness', doc: "fraction of the stack's series reporting fresh data", f: (e) => clip(e.dataCompleteness) },
  { name: 'breach_predicted', doc: '1 when an SLO breach is predicted or has happened', f: (e) => (e.minutesToBreach === null ? 0 : 1) },
  { name: 'breached', doc: '1 when an SLO gate is already breached', f: (e) => (e.minutesToBreach === 0 ? 1 : 0) },
  {
    name: 'breach_urgency',
    doc: `1 − minutes to breach / ${BREACH_HORIZON_MIN}, clipped; 0 when none predicted`,
    f: (e) => (e.minutesToBreach === null ? 0 : clip(1 - e.minutesToBreach / BREACH_HORIZON_MIN)),
  },
  ...SIGNALS.map(
    (s: Signal): FeatureDef => ({
      name: `magnitude_${s}`,
      doc: `largest ${s} deviation among the evidence signals, log-scaled σ; 0 when that signal is not involved`,
      f: (e) => sigma(e.magnitudes?.[s]),
    }),
  ),
  ...SIGNALS.map(
    (s: Signal): FeatureDef => ({
      name: `signal_${s}`,
      doc: `a ${s} signal is among the evidence signals`,
      f: (e) => (e.signals?.includes(s) === true || (e.magnitudes?.[s] ?? 0) > 0 ? 1 : 0),
    }),
  ),
];

export const FEATURE_NAMES: readonly string[] = DEFS.map((d) => d.name);
export const FEATURE_DOCS: readonly { name: string; doc: string }[] = DEFS.map(({ name, doc }) => ({ name, doc }));
export const FEATURE_COUNT = DEFS.length;

/** A feature vector tagged with the version that produced it. */
export interface FeatureVector {
  version: number;
  values: Float32Array;
}

export class FeatureVersionError extends Error {
  constructor(
    readonly expected: number,
    readonly got: number,
  ) {
    super(
      `feature version mismatch: the model was trained on feature version ${expected}, got features of version ${got}; retrain it (harbinger train) or load a model of version ${got}`,
    );
    this.name = 'FeatureVersionError';
  }
}

/** The evidence bundle as this version's feature vector. Missing optional fields take neutral defaults. */
export function featurize(e: ConfidenceEvidence): FeatureVector {
  const values = new Float32Array(DEFS.length);
  for (let i = 0; i < DEFS.length; i++) values[i] = DEFS[i]!.f(e);
  return { version: FEATURE_VERSION, values };
}

/** Throws a FeatureVersionError unless `got` is `expected`. */
export function assertFeatureVersion(expected: number, got: number): void {
  if (expected !== got) throw new FeatureVersionError(expected, got);
}
