import type { DeltaScope, StackDeviation } from '../../domain/types.js';

/**
 * Cross-stack comparison for one metric of one service at one step: which stack, if any, deviates
 * from its peers. Works on each stack's deviation from its *own* seasonal baseline (smoothed over
 * the delta window), so stacks of different size or shape compare fairly; business metrics arrive
 * already normalized by traffic share.
 */

export interface DeltaParams {
  warnScore: number;
  peerHealthyScore: number;
  globalFraction: number;
  globalScore: number;
  minSeparation: number;
  peerMaxRatio: number;
  minEpisodeMinutes: number;
  minVolume: number;
}

export interface StackInput extends StackDeviation {
  /** The stack's threshold is in warn or confirmed. */
  inEpisode: boolean;
  /** Volume (requests/orders) behind the episode; NaN when the data carries no volume. */
  volume: number;
  /** How long the stack's episode has lasted, in minutes of its own resolution. */
  episodeMinutes: number;
  /** The stack's episode passed persistence validation (confirmed): a blip it is not. */
  confirmed: boolean;
  /** The score of the stack's latest point, before smoothing (absent when unknown). */
  latest?: number;
  /**
   * The stack-scoped event that takes the stack out of the comparison (a perf test, chaos
   * experiment or maintenance on it), as `kind id`: it is no control for its peers.
   */
  aside?: string;
}

/**
 * How far a peer deviates now. A peer in an episode is read at the worse of its smoothed and its
 * latest score: when an upstream degrades every stack a minute or two apart, the stack hit first
 * must not be singled out against a peer whose average has not caught up with its own warning.
 */
function peerNow(s: StackInput): number {
  return s.inEpisode && s.latest !== undefined && s.latest > s.score ? s.latest : s.score;
}

export interface DeltaVerdict {
  scope: DeltaScope;
  stack: string | null;
  separation: number;
  reason: string;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : String(x));

/**
 * Stacks under a perf test, chaos experiment or maintenance of their own are left out, so that a
 * load test on one stack does not veto the verdict on another: judged among the others when at
 * least two others remain and one of them deviates. Otherwise (the tested stack is the only one
 * deviating, or the only peer) all stacks are judged as before, and the event's own phase
 * explains the tested stack. Returns undefined when there is nothing to conclude yet: no stack in
 * an episode, or too little evidence.
 */
export function judgeStacks(all: readonly StackInput[], p: DeltaParams): DeltaVerdict | undefined {
  let stacks = all;
  let note = '';
  if (all.some((s) => s.aside !== undefined)) {
    const rest = all.filter((s) => s.aside === undefined);
    if (rest.length >= 2 && rest.some((s) => s.inEpisode)) {
      stacks = rest;
      note = ` (${all
        .filter((s) => s.aside !== undefined)
        .map((s) => `${s.stack} left out: ${s.aside!}`)
        .join(', ')})`;
    }
  }
  const v = judge(stacks, p);
  return v === undefined || note === '' ? v : { ...v, reason: v.reason + note };
}

function judge(stacks: readonly StackInput[], p: DeltaParams): DeltaVerdict | undefined {
  let top: StackInput | undefined;
  for (const s of stacks) if (s.inEpisode && (top === undefined || s.score > top.score)) top = s;
  if (top === undefined) return undefined;

  const n = stacks.length;
  if (n < 2) {
    return { scope: 'insufficient', stack: null, separation: 0, reason: `only ${top.stack} reports this metric: no peer to compare with` };
  }
  let moving = 0;
  const peers: StackInput[] = [];
  for (const s of stacks) {
    if (s.score >= p.globalScore) moving++;
    if (s !== top) peers.push(s);
  }
  // The peer the delta stack is measured against: the worst peer with two or three stacks; with
  // more, the 75th percentile of peers, so one other noisy stack among twenty cannot veto a verdict.
  peers.sort((a, b) => peerNow(b) - peerNow(a));
  const ref = peers.length <= 2 ? peers[0]! : peers[Math.floor(peers.length * 0.25)]!;
  const maxPeer = peerNow(ref);
  const maxPeerStack = ref.stack;
  // A peer doing better than usual (negative score) is healthy, not extra evidence against the top.
  const separation = top.score - Math.max(0, maxPeer);

  if (moving >= 2 && moving / n >= p.globalFraction) {
    return {
      scope: 'global',
      stack: null,
      separation,
      reason: `${moving} of ${n} stacks deviate together (scores ${stacks.map((s) => `${s.stack} ${fmt(s.score)}`).join(', ')}): not a routing problem`,
    };
  }
  // Too little evidence (a lone spike, a 1-minute blip): wait, say nothing. A confirmed episode
  // has already shown it persists.
  if ((top.episodeMinutes < p.minEpisodeMinutes && !top.confirmed) || top.score < p.globalScore) return undefined;
  if (top.volume === top.volume && top.volume < p.minVolume) {
    return {
      scope: 'insufficient',
      stack: null,
      separation,
      reason: `${top.stack} has seen ${Math.round(top.volume)} requests/orders since its deviation began, below the minimum sample of ${p.minVolume}: no verdict yet`,
    };
  }
  if (maxPeer < p.peerHealthyScore && maxPeer <= p.peerMaxRatio * top.score) {
    // Peers are healthy but the deviating stack has not pulled clear of them yet: wait.
    if (separation < p.minSeparation) return undefined;
    return {
      scope: 'local',
      stack: top.stack,
      separation,
      reason: `${top.stack} deviates by ${fmt(top.score)} sigma while ${peers.length <= 2 ? 'its worst peer' : `the 75th-percentile peer of ${peers.length}`} ${maxPeerStack} is at ${fmt(maxPeer)} (separation ${fmt(separation)})`,
    };
  }
  return {
    scope: 'partial',
    stack: null,
    separation,
    reason: `${top.stack} deviates by ${fmt(top.score)} but peer ${maxPeerStack} is also at ${fmt(maxPeer)}: no single culprit`,
  };
}
