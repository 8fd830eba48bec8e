import { z } from 'zod';
import { SIGNALS } from '../domain/types.js';
import type { DetectionParams } from '../core/detection/detection-params.js';

/**
 * Detection configuration. Every number carries its unit in its name; defaults are the seed's
 * (SLO gates: error rate 0.1 %, p99 500 ms, business within 5 % of baseline) or were chosen on the
 * synthetic fixtures and then checked, unchanged, against the NAB and Microsoft data in ../shared/data.
 */

const season = z.strictObject({
  minutes: z.number().int().positive(),
  bucketMinutes: z.number().positive(),
});

const sloGate = z
  .strictObject({
    /** Regular expression on the metric name. */
    metric: z
      .string()
      .min(1)
      .refine((s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression'),
    signal: z.enum(SIGNALS).optional(),
    kind: z.enum(['error_rate', 'latency_p99', 'business_drop', 'saturation']),
    /** Absolute limit, or for `relative: true` a fraction of the baseline (0.95 = 5 % below). */
    limit: z.number(),
    comparator: z.enum(['>', '<']),
    relative: z.boolean().default(false),
    /**
     * The unit `limit` is written in, when the gate should follow each series' own unit. `fraction`:
     * a series whose name says percent (or that sends a value above 1, which no fraction can) is
     * judged against limit x 100. `ms`: a series named in seconds (`_seconds`, `_sec`, `_s`) is judged
     * against limit / 1000. Without it the limit applies as written.
     */
    limitUnit: z.enum(['fraction', 'ms']).optional(),
  })
  .strict()
  .refine((g) => !(g.relative === true && g.limitUnit !== undefined), {
    message: 'limitUnit applies to absolute gates; a relative gate compares with the baseline',
    path: ['limitUnit'],
  });

export const detectionConfigSchema = z.strictObject({
  eventTime: z
    .strictObject({
      allowedLatenessSeconds: z.number().nonnegative().default(120),
      /** Stacks are compared, and their health summarized, once per step of event time. */
      stepSeconds: z.number().positive().default(60),
    })
    .prefault({}),
  baseline: z
    .strictObject({
      /** Seasonal profiles, shortest first; the longest one that has been seen once is used. */
      seasons: z
        .array(season)
        .min(1)
        .default([{ minutes: 1440, bucketMinutes: 15 }]),
      /** Half-life of the level correction on top of the seasonal profile. */
      levelHalfLifeMinutes: z.number().positive().default(180),
      /** Half-life of the cold-start level used before any season has been seen. */
      coldLevelHalfLifeMinutes: z.number().positive().default(30),
      /** How many seasons back a bucket still carries half its weight. */
      seasonalHalfLifeSeasons: z.number().positive().default(3),
      /** Half-life of the residual scale (robust spread) estimate. */
      scaleHalfLifeMinutes: z.number().positive().default(720),
      /** Points a series needs before it can raise anything. */
      minHistoryPoints: z.number().int().positive().default(30),
      /** Residuals are clipped at this many scales before they update the baseline (Huber). */
      huberK: z.number().positive().default(3),
      /** Spread never below this fraction of the expected value (flat series). */
      relativeScaleFloor: z.number().nonnegative().default(0.01),
      /** A confirmed anomaly older than this is accepted as the new normal and learned again. */
      relearnAfterMinutes: z.number().positive().default(360),
      /**
       * Learn the residual spread per hour of day (UTC) as well as for the whole day: the noise of
       * a rate over few requests is wider at night. On by default for the stream engine; the
       * single-series scorer (`harbinger score`) turns it off, because on series of unknown nature
       * (NAB) 24 extra estimates cost more than they bring (leave-one-category-out 73.0 → 69.3,
       * measured before the scorer's spike memory).
       */
      hourOfDaySpread: z.boolean().default(true),
    })
    .prefault({}),
  threshold: z
    .strictObject({
      /** Stage 1: deviation (robust sigmas, bad direction) that raises a warning. */
      warnScore: z.number().positive().default(4),
      /** Stage 2: re-check window in minutes... */
      recheckMinutes: z.number().positive().default(5),
      /** ...and the fraction of its points that must still be beyond the warn bound (m of n). */
      confirmFraction: z.number().gt(0).lte(1).default(0.8),
      /** An episode ends after this many minutes with no point beyond the warn bound. */
      clearMinutes: z.number().positive().default(10),
      /**
       * Canary analysis: for `changeWatchMinutes` after a deployment, rollback or config change
       * on a stack, that stack's error and latency series warn at this score instead. Most incidents follow a change,
       * so the same deviation is likelier a fault then; the stack's peers, unchanged, are the control.
       */
      afterChangeWarnScore: z.number().positive().default(3),
      changeWatchMinutes: z.number().nonnegative().default(60),
    })
    .refine((t) => t.afterChangeWarnScore <= t.warnScore, {
      message: 'must not exceed warnScore: a change makes detection more sensitive, not less',
      path: ['afterChangeWarnScore'],
    })
    .prefault({}),
  prediction: z
    .strictObject({
      horizonMinutes: z.number().positive().default(90),
      levelHalfLifeMinutes: z.number().positive().default(4),
      /**
       * Level half-life for relative (business) gates: "within 5 % of baseline" is judged over
       * a window of minutes, not on one noisy minute of small counts.
       */
      relativeLevelHalfLifeMinutes: z.number().positive().default(10),
      trendHalfLifeMinutes: z.number().positive().default(15),
      /** A new prediction is emitted only when the breach time moves by more than this. */
      reemitShiftMinutes: z.number().positive().default(10),
    })
    .prefault({}),
  slo: z
    .strictObject({
      /**
       * First match wins. The defaults are the seed's gates, written for the spellings exporters
       * use: error rates as 5xx / error(s) / err(s) / failure(s) / failed (of requests, calls or
       * responses; rate or ratio, fraction or percent, or per request), success rates and availability as their
       * complement (below 99.9 %), p95/p99 (95th/99th/99p, tp99, or a quantile) latency in milliseconds
       * or seconds, any business metric relative to its baseline, utilisation, saturation,
       * usage/used/busy/in-use or a CPU/memory/heap/disk percentage as a fraction or in percent (a
       * usage in bytes or cores is not a share of anything: no gate). Prometheus recording rules
       * (`level:metric:operations`) are read too: `job:http_errors:ratio_rate5m` and Sloth's
       * `slo:sli_error:ratio_rate5m` are error ratios, `job:latency_p99:5m` a p99, and a trailing
       * window (`error_rate_5m`) is no part of the name's meaning; `job:http_errors:rate5m` is errors
       * per second, a count, and meets no gate.
       */
      gates: z.array(sloGate).default([
        {
          metric:
            '(^|[_.:])(5xx|errors?|errs?|fail(ed|ures?)?|timeouts?)((([_.](requests?|reqs?|calls?|responses?))?[_.]?(rate|ratio|fraction|percent(age)?|pct)([_.](5xx|pct|percent))?|[_.]per[_.](requests?|reqs?|calls?|responses?))([_.:]?[0-9]+[smhdw])?|([_.](requests?|reqs?|calls?|responses?))?:(ratio|fraction|percent(age)?|pct)(_rate[0-9]+[smhdw])?)$',
          signal: 'reliability',
          kind: 'error_rate',
          limit: 0.001,
          comparator: '>',
          relative: false,
          limitUnit: 'fraction',
        },
        {
          // The same SLO read from its complement: 99.9 % of requests succeed.
          metric:
            '(^|[_.:])(?<!(non|not)[_.:])(success(ful)?([_.](requests?|reqs?|calls?|responses?))?([_.]?(rate|ratio|fraction|percent(age)?|pct)([_.:]?[0-9]+[smhdw])?|:(ratio|fraction|percent(age)?|pct)(_rate[0-9]+[smhdw])?)|availability([_.]?(ratio|fraction|percent(age)?|pct)([_.:]?[0-9]+[smhdw])?|:(ratio|fraction|percent(age)?|pct)(_rate[0-9]+[smhdw])?)?)$',
          signal: 'reliability',
          kind: 'error_rate',
          limit: 0.999,
          comparator: '<',
          relative: false,
          limitUnit: 'fraction',
        },
        {
          metric: '(^|[_.:-])(t?p(95|99)|9[59](th|p)|pct9[59])([_.:-]|$)|(quantile|percentile)[_.-]?0?[._]?9[59]',
          signal: 'latency',
          kind: 'latency_p99',
          limit: 500,
          comparator: '>',
          relative: false,
          limitUnit: 'ms',
        },
        { metric: '.', signal: 'business', kind: 'business_drop', limit: 0.95, comparator: '<', relative: true },
        {
          metric:
            'utili[sz]ation|saturation|util(_|$)|(usage|used|busy|in_use)[_.]?(ratio|fraction|percent(age)?|pct)$|(^|[_.])(cpu|mem(ory)?|heap|disk)[_.]?(percent(age)?|pct)$',
          signal: 'capacity',
          kind: 'saturation',
          limit: 0.9,
          comparator: '>',
          relative: false,
          limitUnit: 'fraction',
        },
      ]),
    })
    .prefault({}),
  delta: z
    .strictObject({
      /** Deviation is averaged over this window before stacks are compared. */
      windowMinutes: z.number().positive().default(5),
      /** Peers below this averaged score count as healthy. */
      peerHealthyScore: z.number().nonnegative().default(2),
      /** When at least this fraction of stacks deviate beyond `globalScore`, the episode is global. */
      globalFraction: z.number().gt(0).lte(1).default(0.75),
      globalScore: z.number().nonnegative().default(2.5),
      /** Minimum gap between the delta stack and its worst peer. */
      minSeparation: z.number().nonnegative().default(2),
      /**
       * A peer that moves by more than this fraction of the delta stack's deviation moves with it:
       * the verdict is `partial`, not `local`.
       */
      peerMaxRatio: z.number().min(0).max(1).default(0.4),
      /** A new verdict must hold this long (minutes of data: one hourly point counts 60) before it is announced. */
      stableMinutes: z.number().positive().default(3),
      /**
       * Minimum duration of the deviating stack's episode before any verdict, in minutes at the
       * series' own resolution (3 points of 1-minute data; one point of 5-minute or hourly data).
       */
      minEpisodeMinutes: z.number().positive().default(3),
      /**
       * Minimum volume behind the deviating stack's episode (sum of `count` fields, or of the values
       * themselves for business counts) before a verdict: the canary rule from seed 002.
       */
      minVolume: z.number().nonnegative().default(1000),
    })
    .prefault({}),
});

export type DetectionConfig = z.infer<typeof detectionConfigSchema>;
export type SloGateConfig = z.infer<typeof sloGate>;

/** The core declares what it is parameterized by (core/detection/detection-params.ts): this stops compiling when the schema no longer gives it. */
export const asDetectionParams = (config: DetectionConfig): DetectionParams => config;

/** Defaults, fully populated and frozen. */
export function defaultDetectionConfig(): DetectionConfig {
  return deepFreeze(detectionConfigSchema.parse({}));
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
