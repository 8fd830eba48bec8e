import type { DeltaScope, StackDeviation } from '../../domain/types.js';
import { hhmm } from '../clock-text.js';

/**
 * Cross-stack comparison for one metric of one service at one step: which stack, if any, deviates
 * from its peers. Works on each stack's deviation from its *own* seasonal baseline (smoothed over
 * the delta window), so stacks of different size or shape compare fairly; business metrics arrive
 * already normalized by traffic share.
 *
 * Sigma scores say whether a move is real; they do not say whether the peers moved as much. A stack
 * singled out by scores is also compared in fractions of the expected value (relativeMoves): when
 * its peers moved by a like fraction, the platform moved, not the stack.
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

/** A stack's deviation as a fraction of its expected value (see relative-deviation.ts). */
export interface RelativeInput {
  /** Smoothed, positive in the bad direction. */
  dev: number;
  /** The spread `dev` has from noise alone (NaN when unknown). */
  noise: number;
  /** The expected value now (per 100 % of traffic for a business volume). */
  expected: number;
  /** The baseline's level correction inside `expected` (NaN for a cold baseline). */
  level: number;
  /** 1: up is bad, -1: down is bad. */
  direction: 1 | -1;
  /** Every stack's baseline level when this stack's episode began (absent when unknown). */
  anchor?: Readonly<Record<string, number>>;
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
  /** How many of its latest points in a row are beyond the bound (absent when unknown). */
  latestRun?: number;
  /**
   * The stack's smoothed deviation as a fraction of its expected value (see relative-deviation.ts).
   * Absent when unknown: the sigma scores alone decide.
   */
  relative?: RelativeInput;
  /**
   * The stack-scoped event that takes the stack out of the comparison (a perf test, chaos
   * experiment or maintenance on it), as `kind id`: it is no control for its peers.
   */
  aside?: string;
  /**
   * When the stack's latest change began amid an episode of this metric (`from`) and every stack's
   * relative deviation then (see MetricGroup.changeMarks). Absent when none.
   */
  sinceChange?: { from: number; dev: Readonly<Record<string, number>> };
  /** Errors of a stack inside its change window (canary analysis): a good version raises none. */
  errorCanary?: true;
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
  /** Not local only because the peers moved by a like fraction (their scores call them healthy). */
  movedAlike?: true;
  /** Local while its peers deviate too: the stack moved by a fraction they do not come near. */
  amidGlobal?: true;
  /** See DeltaEvent.lapsed. */
  lapsed?: true;
  /** See DeltaEvent.sinceChange. */
  sinceChange?: number;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : String(x));

const pct = (x: number): string => `${Math.abs(x) < 0.1 ? (x * 100).toFixed(1) : (x * 100).toFixed(0)} %`;

/**
 * Stacks under a perf test, chaos experiment or maintenance of their own are left out, so that a
 * load test on one stack does not veto the verdict on another: judged among the others when at
 * least two others remain and one of them deviates. Otherwise (the tested stack is the only one
 * deviating, or the only peer) all stacks are judged as before, and the event's own phase
 * explains the tested stack.
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
  const ref = referenceOf(peers, peers.length);
  const maxPeer = peerNow(ref);
  const maxPeerStack = ref.stack;
  // A peer doing better than usual (negative score) is healthy, not extra evidence against the top.
  const separation = top.score - Math.max(0, maxPeer);

  if (moving >= 2 && moving / n >= p.globalFraction) {
    const apart = apartAmidGlobal(top, peers, separation, p);
    if (apart !== undefined) return apart;
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
    const moves = relativeMoves(top, peers, p);
    if (moves !== undefined) {
      const bar = p.peerMaxRatio * moves.top;
      if (moves.ref >= bar && !canaryAgainstCalmPeers(top, peers, p)) {
        const count = 1 + moves.all.filter((m) => m >= bar).length;
        const scope = count >= 2 && count / n >= p.globalFraction ? 'global' : 'partial';
        return {
          scope,
          stack: null,
          separation,
          movedAlike: true,
          reason: `${top.stack} deviates by ${fmt(top.score)} sigma, ${pct(moves.top)} off its baseline, but ${moves.refStack} moved by ${pct(moves.ref)} too (${fmt(moves.refScore)} sigma of its own baseline): ${scope === 'global' ? `${count} of ${n} stacks moved by a like fraction, not a routing problem` : 'no single culprit'}`,
        };
      }
    }
    // `trafficShare` is set for a business volume judged per share (see metric-group.ts).
    if (moves !== undefined && top.trafficShare !== undefined && peers.every((s) => blindTo(s, moves.top, p))) {
      return {
        scope: 'insufficient',
        stack: null,
        separation,
        reason: `${top.stack} is ${pct(moves.top)} off its baseline, but no peer could show a move that size in its own noise (${peers.map((s) => `${s.stack} ±${pct(s.relative!.noise)}`).join(', ')}): no control to single it out against`,
      };
    }
    return {
      scope: 'local',
      stack: top.stack,
      separation,
      reason: `${top.stack} deviates by ${fmt(top.score)} sigma${moves !== undefined ? ` (${pct(moves.top)})` : ''} while ${peers.length <= 2 ? 'its worst peer' : `the 75th-percentile peer of ${peers.length}`} ${maxPeerStack} is at ${fmt(maxPeer)} (separation ${fmt(separation)})${moves !== undefined ? `; ${refName(peers)} moved by ${pct(moves.ref)}` : ''}`,
    };
  }
  return (
    apartAmidGlobal(top, peers, separation, p) ?? {
      scope: 'partial',
      stack: null,
      separation,
      reason: `${top.stack} deviates by ${fmt(top.score)} but peer ${maxPeerStack} is also at ${fmt(maxPeer)}: no single culprit`,
    }
  );
}

/**
 * A changed stack's confirmed errors against unchanged peers that each call themselves healthy:
 * the canary verdict, which fractions do not overrule. "Moved alike" reads fractions because one
 * platform-wide move is 4.5 sigma on a quiet stack and 1.6 on a noisy one; here the change is the
 * prior, the peers are the control, and a control inside its own noise has not moved. A release's
 * 5xx 52 % over its normal (4.5 sigma) was held a minute, past its breach, as "moved alike" with a
 * peer 21 % over its own (1.6 sigma, kit seed 111).
 */
function canaryAgainstCalmPeers(top: StackInput, peers: readonly StackInput[], p: DeltaParams): boolean {
  return top.errorCanary === true && top.confirmed && peers.every((s) => s.errorCanary !== true && peerNow(s) < p.peerHealthyScore);
}

/**
 * The converse of "moved alike": its peers deviate too (a campaign lifts every stack, traffic
 * moved onto one of them), but the top stack, confirmed, moved by a fraction its peers do not come near: the ones that moved most
 * reached less than `peerMaxRatio` of its move, the same bar by which a single deviating stack's
 * peers count as having moved with it. The platform moved, and this stack moved on top of it (its
 * pool filling up while a sale lifted every pool by two thirds). Sigma scores cannot tell them
 * apart here, since every stack is many sigma off, so the separation is the part of its score its
 * peers' move does not share, and that part must reach the warn bound. Undefined when the fractions are unknown or it does not stand apart.
 */
function standsApart(top: StackInput, peers: readonly StackInput[], separation: number, p: DeltaParams): DeltaVerdict | undefined {
  const moves = relativeMoves(top, peers, p, true);
  if (moves === undefined || !(moves.ref > 0) || moves.ref >= p.peerMaxRatio * moves.top) return undefined;
  return apartVerdict(
    top,
    separation,
    top.score * (1 - moves.ref / moves.top),
    p,
    (apart) =>
      `${top.stack} deviates by ${fmt(top.score)} sigma (${pct(moves.top)}) while its peers moved too; ${refName(peers)} ${moves.refStack} moved by ${pct(moves.ref)} (${fmt(moves.refScore)} sigma): ${top.stack} stands apart (separation ${fmt(apart)})`,
  );
}

/**
 * The canary comparison inside a platform-wide episode: a change landed on the top stack while
 * every stack was already off (an upstream fault lifting every stack's errors), and since that
 * change the top stack moved by a fraction its unchanged peers do not come near. Against their
 * baselines all of them are many sigma off and the top only somewhat more, so standsApart cannot
 * tell a bad version deployed mid-incident from the incident; measured from the moment of the
 * change, the peers are the control and stand still. The same bars as standsApart: the peers'
 * move below `peerMaxRatio` of the top's, the part of its score they do not share at the warn
 * bound, and the top beyond it at its latest point.
 */
function apartSinceChange(top: StackInput, peers: readonly StackInput[], separation: number, p: DeltaParams): DeltaVerdict | undefined {
  const mark = top.sinceChange;
  const t = top.relative;
  if (mark === undefined || t === undefined) return undefined;
  const before = mark.dev[top.stack];
  if (before === undefined || !(t.dev > 0)) return undefined;
  const own = t.dev - before;
  if (!(own > 0)) return undefined;
  const moved: { stack: string; m: number }[] = [];
  for (const s of peers) {
    const b = mark.dev[s.stack];
    const r = s.relative;
    if (b === undefined || r === undefined || r.dev !== r.dev) continue;
    moved.push({ stack: s.stack, m: movedNow(s, r.dev - b) });
  }
  if (moved.length === 0) return undefined;
  moved.sort((a, b) => b.m - a.m);
  const ref = referenceOf(moved, peers.length);
  if (ref.m >= p.peerMaxRatio * own) return undefined;
  const verdict = apartVerdict(
    top,
    separation,
    (top.score * (own - Math.max(0, ref.m))) / t.dev,
    p,
    (apart) =>
      `${top.stack} deviates by ${fmt(top.score)} sigma while its peers deviate too, but since its change at ${hhmm(mark.from)} it moved by ${pct(own)} and ${refName(peers)} ${ref.stack} by ${pct(ref.m)}: ${top.stack} stands apart (separation ${fmt(apart)})`,
  );
  return verdict === undefined ? undefined : { ...verdict, sinceChange: mark.from };
}

/**
 * A stack that stands apart while its peers deviate too, by the fractions they moved (standsApart)
 * or, when a change landed on it amid the episode, by what moved since (apartSinceChange). Either
 * way it must be confirmed and beyond the warn bound at its latest point: apart now, not by the
 * echo of one spike in its average (as a global episode ends, one late spike on one stack, 16.7
 * sigma then back to 1, holds its smoothed score at 5 for minutes while its recovering peers read
 * 2, and the tail of the platform's fault looked like its own). Its peers are read at their latest
 * point (peerNow); so is it. Nor on its latest point alone: the two latest must both be beyond the
 * bound (a single point never confirms anything, and amid a platform-wide episode it can stand
 * apart at once: imitation seed 3104, as an upstream fault ended, one p99 point of 70 sigma on one
 * stack, back to 2.8 a minute later, stood apart from peers still 3-7 sigma off, and that stack's
 * traffic was shifted in the fault's trap window). Not while it recedes with every peer (the
 * slowest to recover is no culprit: recedes), nor against a peer whose episode is only beginning (arriving).
 */
function apartAmidGlobal(top: StackInput, peers: readonly StackInput[], separation: number, p: DeltaParams): DeltaVerdict | undefined {
  if (!top.confirmed || (top.latest !== undefined && top.latest < p.warnScore)) return undefined;
  if (top.latestRun !== undefined && top.latestRun < 2) return undefined;
  if (recedes(top) && peers.every((s) => !s.inEpisode || recedes(s))) return undefined;
  if (peers.some(arriving(p))) return undefined;
  return standsApart(top, peers, separation, p) ?? apartSinceChange(top, peers, separation, p);
}

/**
 * On its way back: its latest point under its smoothed score. Stacks recover from a shared fault
 * at their own pace, and while every one of them recedes the slowest stands apart by the fraction
 * it is still off (kit seed 11111: 5xx 250 % off against its peer's 67 % two minutes before the
 * upstream fault ended, every stack falling) without anything of its own: a straggler, not a culprit.
 * A fault of its own amid the platform's holds or climbs.
 */
function recedes(s: StackInput): boolean {
  return s.latest !== undefined && s.latest < s.score;
}

/**
 * A peer whose episode began less than `minEpisodeMinutes` ago: its move is still arriving, and the
 * fraction it has moved so far says nothing yet. A shared fault reaches stacks minutes apart (kit
 * seed 7777: eu-west-1's 5xx 422 % off, us-east-1's 126 % in its first minute and climbing, 5.8σ
 * on its latest point; the first stack was singled out and shifted away from a minute before the
 * second caught up).
 */
function arriving(p: DeltaParams): (s: StackInput) => boolean {
  return (s) => s.inEpisode && s.episodeMinutes < p.minEpisodeMinutes;
}

/**
 * The local verdict of a stack standing apart. The part of its deviation its peers do not share
 * (`unshared`, in sigma) must be an anomaly in its own right, at the warn bound: a shared upstream
 * fault that cost one stack 8 % of its orders (3.8 sigma) and the other 3 % leaves 2.4 sigma of
 * difference, no culprit.
 */
function apartVerdict(top: StackInput, separation: number, unshared: number, p: DeltaParams, reason: (apart: number) => string): DeltaVerdict | undefined {
  if (unshared < p.warnScore) return undefined;
  const apart = Math.max(separation, unshared);
  return { scope: 'local', stack: top.stack, separation: apart, amidGlobal: true, reason: reason(apart) };
}

/** The peer a stack is measured against: the first of `ranked` with two or three stacks, the 75th percentile with more. */
function referenceOf<T>(ranked: readonly T[], peerCount: number): T {
  return peerCount <= 2 ? ranked[0]! : ranked[Math.min(ranked.length - 1, Math.floor(peerCount * 0.25))]!;
}

const refName = (peers: readonly StackInput[]): string => (peers.length <= 2 ? 'the peer that moved most' : 'the 75th-percentile peer');

/** A peer's move read at its latest point, as its score is (peerNow): one that has just followed the top moved too. */
function movedNow(s: StackInput, move: number): number {
  return s.score > 0 && move > 0 ? move * (peerNow(s) / s.score) : move;
}

/**
 * The stacks' moves as fractions of their expected values, against the stack singled out by sigma
 * scores. A peer that moved by at least `peerMaxRatio` of the stack's own fraction moved with it,
 * whatever its z: the rule the scores follow, in units that do not depend on how tight each
 * stack's baseline is (a platform 13 % below its usual level is 4.5 sigma on a quiet stack and 1.6
 * on a noisy one). Only a peer whose noise would let such a move show has a say: the top's
 * fraction must stand `peerHealthyScore` times that peer's noise in fractions clear of zero, or
 * the peer's wobble alone reaches the bar (an hourly latency 40 % off from one hour to the next
 * cannot tell whether it moved 40 % with the top); such a peer counts as not moved. `ref`: the
 * peer that moved most, or with more than three stacks the 75th percentile, as for the scores.
 * Undefined when the fractions are unknown or the top's is not bad. `now`: a peer in an episode
 * is read at its latest point, its smoothed fraction scaled by latest / smoothed score (as
 * peerNow reads its score), so a peer that has just followed the top is not taken for one that
 * moved less.
 */
function relativeMoves(
  top: StackInput,
  peers: readonly StackInput[],
  p: DeltaParams,
  now = false,
): { top: number; ref: number; refStack: string; refScore: number; all: number[] } | undefined {
  const t = top.relative;
  const own = t === undefined ? Number.NaN : moveSince(t, top);
  if (t === undefined || !(own > 0)) return undefined;
  const moved: { s: StackInput; m: number }[] = [];
  for (const s of peers) {
    let m = moveSince(t, s);
    if (m !== m) continue;
    if (now) m = movedNow(s, m);
    moved.push({ s, m: blindTo(s, own, p) ? Math.min(m, 0) : m });
  }
  if (moved.length === 0) return undefined;
  moved.sort((a, b) => b.m - a.m);
  const ref = referenceOf(moved, peers.length);
  return { top: own, ref: ref.m, refStack: ref.s.stack, refScore: peerNow(ref.s), all: moved.map((x) => x.m) };
}

/**
 * A peer whose own noise would hide a move of `move` (a fraction): the same move on it would not
 * stand `peerHealthyScore` sigmas out (a standby colour's orders per share at 5 % of the traffic,
 * ±10 % a minute). What it moved says nothing of whether it moved alike (relativeMoves), and for
 * a business volume its staying put is no control either (judge).
 */
function blindTo(s: StackInput, move: number, p: DeltaParams): boolean {
  const r = s.relative;
  return r !== undefined && !(move >= p.peerHealthyScore * r.noise);
}

/**
 * How far stack `s` moved, as a fraction in the bad direction, since the top stack's episode began.
 * The top's baseline has not learned since then; a calm peer's has, and hours into a platform-wide
 * dip its level correction has absorbed much of it. So the level each baseline learned since the
 * top's anchor is taken back out of its expected value: what the move would be had every baseline
 * stood still with the top's. Without an anchor, the stack's own relative deviation. NaN when unknown.
 */
function moveSince(top: RelativeInput, s: StackInput): number {
  const r = s.relative;
  if (r === undefined || !(r.dev === r.dev)) return Number.NaN;
  const level0 = top.anchor?.[s.stack];
  if (level0 === undefined || !Number.isFinite(r.level)) return r.dev;
  const unlearned = r.expected - (r.level - level0);
  if (!(unlearned > 0)) return r.dev;
  const value = (1 + r.direction * r.dev) * r.expected;
  return r.direction * (value / unlearned - 1);
}
