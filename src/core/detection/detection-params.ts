import type { Signal, SloKind } from '../../domain/types.js';

/**
 * What the detection core is parameterized by, declared here, by the core: the configuration
 * (`config/detection.ts`, validated with zod, where each field's default and meaning are written)
 * must satisfy it, and the compiler checks that it does. Times carry their unit in their name.
 */
export interface DetectionParams {
  eventTime: { allowedLatenessSeconds: number; stepSeconds: number };
  baseline: {
    seasons: { minutes: number; bucketMinutes: number }[];
    levelHalfLifeMinutes: number;
    coldLevelHalfLifeMinutes: number;
    seasonalHalfLifeSeasons: number;
    scaleHalfLifeMinutes: number;
    minHistoryPoints: number;
    huberK: number;
    relativeScaleFloor: number;
    relearnAfterMinutes: number;
    hourOfDaySpread: boolean;
  };
  threshold: {
    warnScore: number;
    recheckMinutes: number;
    confirmFraction: number;
    clearMinutes: number;
    afterChangeWarnScore: number;
    changeWatchMinutes: number;
  };
  prediction: {
    horizonMinutes: number;
    levelHalfLifeMinutes: number;
    relativeLevelHalfLifeMinutes: number;
    trendHalfLifeMinutes: number;
    reemitShiftMinutes: number;
  };
  slo: { gates: SloGateParams[] };
  delta: {
    windowMinutes: number;
    peerHealthyScore: number;
    globalFraction: number;
    globalScore: number;
    minSeparation: number;
    peerMaxRatio: number;
    stableMinutes: number;
    minEpisodeMinutes: number;
    minVolume: number;
  };
}

/** One SLO gate as configured: which metrics it judges (a regular expression on the name) and how. */
export interface SloGateParams {
  metric: string;
  signal?: Signal | undefined;
  kind: SloKind;
  /** Absolute limit, or for a relative gate a fraction of the baseline. */
  limit: number;
  comparator: '>' | '<';
  relative: boolean;
  /** The unit `limit` is written in, when the gate follows each series' own unit. */
  limitUnit?: 'fraction' | 'ms' | undefined;
}
