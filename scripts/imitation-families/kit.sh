#!/bin/sh
# Imitations of the acceptance families the independent kit does not have (issue 11): an incident
# during a trap, blue/green pairs with a standby colour, a week of history with weekly seasons, and
# other incident shapes. gen.patch extends the kit's own generator (../shared/eval/gen.mjs, not in
# this repository) with 18 families; the kit's nine come out byte-identical, and its scorer is used
# unchanged. Use it to learn why detection fails on shapes nobody tuned it on, never to fit constants.
#
#   npm run build
#   sh scripts/imitation-families/kit.sh DIR               # writes the patched kit to DIR
#   node dist/src/cli/main.js eval-suite --only kit --kit DIR --families gen2 --seeds 44,55
#
# `--families gen2` selects all 18; or name them: campaign_incident perf_test_incident shift_incident
# upstream_incident (incident + trap); bg_incident bg_cutover_bad_deploy bg_trap_incident bg_cutover_trap
# (blue/green); wk_bad_deploy wk_pool_exhaustion wk_memory_leak wk_saturday_incident wk_quiet (a week);
# latency_step error_creep flapping_errors canary_regression partial_service (shapes).
#
# COUNTS=1 also applies counts.patch: every http_5xx_rate sample carries its request count
# ("count", the Poisson draw behind the rate), all else byte-identical, to measure what counts buy.
set -e
dir=${1:?usage: kit.sh DIR}
kit=${SHARED_DIR:-$(dirname "$0")/../../../shared}/eval
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
cp "$kit/gen.mjs" "$kit/score.mjs" "$dir/"
(cd "$dir" && patch -s -p0 < "$here/gen.patch")
if [ "${COUNTS:-}" = 1 ]; then (cd "$dir" && patch -s -p0 < "$here/counts.patch"); fi
echo "patched kit in $dir"
