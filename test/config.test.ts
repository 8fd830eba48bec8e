import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '../src/config/load.js';

describe('configuration', () => {
  it('fills defaults from the seed and freezes the result', () => {
    const c = parseConfig({});
    expect(c.detection.threshold.warnScore).toBe(4);
    expect(c.detection.slo.gates.find((g) => g.kind === 'error_rate')!.limit).toBe(0.001);
    expect(c.detection.slo.gates.find((g) => g.kind === 'latency_p99')!.limit).toBe(500);
    expect(Object.isFrozen(c.detection.threshold)).toBe(true);
  });

  it('names the path of every bad field', () => {
    try {
      parseConfig({ detection: { threshold: { warnScore: -1 }, baseline: { seasons: [{ minutes: 'day' }] } }, surprise: 1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as ConfigError).problems.join('\n');
      expect(msg).toContain('detection.threshold.warnScore');
      expect(msg).toContain('detection.baseline.seasons.0.minutes');
      expect(msg).toContain('surprise');
    }
  });

  it('refuses a misspelled key at any depth, naming where it is (a mistyped guardrail must not run on defaults)', () => {
    const problem = (raw: unknown): string => {
      try {
        parseConfig(raw);
        return 'accepted';
      } catch (e) {
        return (e as ConfigError).problems.join('\n');
      }
    };
    expect(problem({ decision: { guardrail: { maxShiftPercent: 80 } } })).toBe("decision: unknown key 'guardrail' (did you mean 'guardrails'?)");
    expect(problem({ decision: { guardrails: { maxShiftPercnt: 80 } } })).toBe(
      "decision.guardrails: unknown key 'maxShiftPercnt' (did you mean 'maxShiftPercent'?)",
    );
    expect(problem({ detection: { threshold: { warnscore: 2 } } })).toBe("detection.threshold: unknown key 'warnscore' (did you mean 'warnScore'?)");
    expect(problem({ routing: { controler: 'haproxy' } })).toBe("routing: unknown key 'controler' (did you mean 'controller'?)");
    expect(
      problem({ detection: { slo: { gates: [{ metric: 'x', signal: 'latency', kind: 'latency_p99', limit: 500, comparator: '>', limitunit: 'ms' }] } } }),
    ).toBe("detection.slo.gates.0: unknown key 'limitunit' (did you mean 'limitUnit'?)");
    expect(problem({ decision: { stacks: { 'us-east-1': { primery: true } } } })).toBe(
      "decision.stacks.us-east-1: unknown key 'primery' (did you mean 'primary'?)",
    );
    // Nothing near enough: no guess.
    expect(problem({ limits: { frobnicate: 1 } })).toBe("limits: unknown key 'frobnicate'");
  });

  it('refuses settings that contradict each other, naming the field', () => {
    const problems = (raw: unknown): string => {
      try {
        parseConfig(raw);
      } catch (e) {
        return (e as ConfigError).problems.join('\n');
      }
      return 'accepted';
    };
    expect(problems({ detection: { threshold: { afterChangeWarnScore: 5 } } })).toContain(
      'detection.threshold.afterChangeWarnScore: must not exceed warnScore',
    );
    expect(
      problems({
        detection: { slo: { gates: [{ metric: 'orders', kind: 'business_drop', limit: 0.95, comparator: '<', relative: true, limitUnit: 'fraction' }] } },
      }),
    ).toContain('detection.slo.gates.0.limitUnit');
    expect(problems({ detection: { slo: { gates: [{ metric: 'x', kind: 'error_rate', limit: 0.001, comparator: '>', treshold: 2 }] } } })).toContain(
      'treshold',
    );
    expect(
      problems({ decision: { execution: { actionsReachData: false } }, routing: { controller: 'webhook', webhook: { url: 'http://127.0.0.1:9/' } } }),
    ).toContain('decision.execution.actionsReachData: false only behind the dry-run controller');
    expect(problems({ decision: { execution: { actionsReachData: false } } })).toBe('accepted');
  });

  it('reads YAML files, and reports unreadable ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'harbinger-cfg-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(path, 'detection:\n  threshold:\n    warnScore: 3.5\n');
    expect(loadConfigFile(path).detection.threshold.warnScore).toBe(3.5);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/cannot read file/);
  });
});

describe('routing configuration', () => {
  it('requires the settings of the chosen controller, naming the missing field', () => {
    expect(() => parseConfig({ routing: { controller: 'haproxy' } })).toThrow(/routing\.haproxy: required when controller is 'haproxy'/);
    expect(parseConfig({ routing: { controller: 'webhook', webhook: { url: 'http://127.0.0.1:9/hook' } } }).routing.webhook!.retries).toBe(3);
  });
});
