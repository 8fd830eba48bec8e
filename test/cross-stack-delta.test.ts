import { describe, expect, it } from 'vitest';
import { judgeStacks, type StackInput } from '../src/core/detection/cross-stack-delta.js';
import { defaultDetectionConfig } from '../src/config/detection.js';

const cfg = defaultDetectionConfig();
const p = { ...cfg.delta, warnScore: cfg.threshold.warnScore };

function stack(name: string, score: number, extra: Partial<StackInput> = {}): StackInput {
  return { stack: name, score, value: 0, expected: 0, samplesInWindow: 10, episodeMinutes: 10, inEpisode: score >= 4, volume: NaN, confirmed: false, ...extra };
}

describe('cross-stack delta', () => {
  it('names the one stack that deviates while its peer is healthy, with the numbers', () => {
    const v = judgeStacks([stack('us-east-1', 0.4), stack('us-west-2', 7.2)], p);
    expect(v).toMatchObject({ scope: 'local', stack: 'us-west-2', separation: 7.2 - 0.4 });
    expect(v!.reason).toContain('us-west-2 deviates by 7.2 sigma while its worst peer us-east-1 is at 0.4');
  });

  it('waits for a minimum episode length unless the episode is confirmed', () => {
    const young = (confirmed: boolean): StackInput => stack('us-west-2', 9, { episodeMinutes: 2, confirmed });
    expect(judgeStacks([stack('us-east-1', 0.3), young(false)], p)).toBeUndefined();
    expect(judgeStacks([stack('us-east-1', 0.3), young(true)], p)).toMatchObject({ scope: 'local', stack: 'us-west-2' });
  });

  it('calls it global when both stacks move together', () => {
    expect(judgeStacks([stack('a', 5.1), stack('b', 4.3)], p)).toMatchObject({ scope: 'global', stack: null });
  });

  it('among many stacks, one other noisy peer does not veto the verdict', () => {
    const many = Array.from({ length: 20 }, (_, i) => stack(`dep-${i}`, (i % 5) * 0.3));
    expect(judgeStacks([...many, stack('noisy', 3.1), stack('culprit', 9)], p)).toMatchObject({ scope: 'local', stack: 'culprit' });
    // ... but a quarter of the peers moving with it does.
    const moving = Array.from({ length: 6 }, (_, i) => stack(`mov-${i}`, 3.5));
    expect(judgeStacks([...many.slice(0, 14), ...moving, stack('culprit', 9)], p)).toMatchObject({ scope: 'partial' });
  });

  it('finds the outlier among four stacks and calls two-of-four partial', () => {
    expect(judgeStacks([stack('a', 0.2), stack('b', 6), stack('c', -0.5), stack('d', 1.1)], p)).toMatchObject({ scope: 'local', stack: 'b' });
    expect(judgeStacks([stack('a', 0.2), stack('b', 6), stack('c', 5), stack('d', 1.1)], p)).toMatchObject({ scope: 'partial', stack: null });
  });

  it('withholds a verdict on a canary below the minimum sample and says why', () => {
    const v = judgeStacks([stack('prod', 0.3), stack('canary', 9, { volume: 420 })], p);
    expect(v).toMatchObject({ scope: 'insufficient', stack: null });
    expect(v!.reason).toContain('420');
    expect(judgeStacks([stack('prod', 0.3), stack('canary', 9, { volume: 1500 })], p)).toMatchObject({ scope: 'local', stack: 'canary' });
  });

  it('says nothing while no stack is in an episode or the deviation has too few points', () => {
    expect(judgeStacks([stack('a', 1), stack('b', 2)], p)).toBeUndefined();
    expect(judgeStacks([stack('a', 0), stack('b', 8, { episodeMinutes: 1 })], p)).toBeUndefined();
    // One point of hourly data is a long enough episode.
    expect(judgeStacks([stack('a', 0), stack('b', 8, { episodeMinutes: 60 })], p)).toMatchObject({ scope: 'local', stack: 'b' });
  });

  it('says there is no peer when a metric comes from one stack only', () => {
    expect(judgeStacks([stack('solo', 8)], p)).toMatchObject({ scope: 'insufficient' });
  });

  it('does not single out the stack hit first while its peer is already warning on its latest point', () => {
    // An upstream slows both stacks two minutes apart: the peer's average (1.9) lags its warning (7.8).
    const first = stack('eu-central-1', 10.4, { confirmed: true });
    expect(judgeStacks([first, stack('us-west-2', 1.9, { inEpisode: true, latest: 7.8 })], p)).toMatchObject({ scope: 'partial', stack: null });
    // A peer whose episode lingers but whose latest point is normal again is healthy.
    expect(judgeStacks([first, stack('us-west-2', 1.9, { inEpisode: true, latest: 0.5 })], p)).toMatchObject({ scope: 'local', stack: 'eu-central-1' });
    // Outside an episode a single noisy point is what the smoothing is for.
    expect(judgeStacks([first, stack('us-west-2', 1.9, { inEpisode: false, latest: 3.5 })], p)).toMatchObject({ scope: 'local', stack: 'eu-central-1' });
  });
});
