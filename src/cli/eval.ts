import { evaluateFixtures } from '../app/evaluate.js';
import { readdirSync } from 'node:fs';
import { complain, EXIT, loadConfigOrReport, loadModelOption, usageError, type Command } from './command.js';
import { unreadable } from './paths.js';
import { textTable } from '../report/text-table.js';
import { PREEMPT_LEAD_MINUTES } from '../eval/fixture-eval.js';
import { GATE_CHECK_MINUTES } from '../eval/rollout-eval.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'replay every fixture with its truth file and score lead time, localization and false alarms',
  usage: `Usage: harbinger eval <fixtures-dir> [options]

Replays each <name>.jsonl that has a <name>.truth.json beside it and prints, per scenario and
overall: incidents mitigated, lead time (SLO breach minus the first mitigating recommendation for
the right stack), localization and action accuracy, and false mitigations per stack-day.
Then the look-ahead rows (scheduled events) and the rollout gate rows: every deployment asked
about every 5 minutes once it is up, as Flagger or Argo Rollouts would (promote, hold, rollback).

Options:
  --config <file>   YAML or JSON configuration
  --json            print the full result as JSON
  --model <dir>     decide with a learned confidence model ('shipped' = models/confidence) instead of the formula
  -h, --help        show this help`,
  options: { config: { type: 'string' }, json: { type: 'boolean' }, model: { type: 'string' } },
  maxPositionals: 1,
  async run(values, positionals) {
    const dir = positionals[0];
    if (dir === undefined) {
      return usageError(this.name, 'missing <fixtures-dir>');
    }
    const problem = unreadable(dir, 'directory');
    if (problem !== undefined) return complain(this.name, `${dir}: ${problem}`, EXIT.usage);
    if (!readdirSync(dir).some((f) => f.endsWith('.truth.json')))
      return complain(this.name, `${dir}: no <name>.truth.json (a fixtures directory holds <name>.jsonl with <name>.truth.json beside it)`, EXIT.usage);
    const config = loadConfigOrReport(values['config'] as string | undefined, this.name);
    if (config === undefined) return EXIT.usage;
    const confidence = await loadModelOption(values['model'] as string | undefined, this.name);
    if (confidence === null) return EXIT.usage;
    const tty = process.stderr.isTTY === true && values['json'] !== true;
    const result = await evaluateFixtures(dir, config, (name) => tty && process.stderr.write(`\rreplaying ${name}...\x1b[K`), confidence);
    if (tty) process.stderr.write('\r\x1b[K');
    if (values['json'] === true) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return EXIT.ok;
    }
    const rows: string[][] = [['scenario', 'incidents', 'mitigated', 'lead (min)', 'localized', 'action ok', 'false mitigations']];
    for (const s of result.scenarios) {
      rows.push([
        s.scenario + (s.trap ? ' (trap)' : ''),
        String(s.incidents.length),
        String(s.incidents.filter((i) => i.detected).length),
        s.incidents.map((i) => (i.leadMinutes === null ? '-' : i.leadMinutes.toFixed(0))).join(',') || '-',
        s.incidents.length === 0 ? '-' : `${s.incidents.filter((i) => i.localized).length}/${s.incidents.length}`,
        s.incidents.length === 0 ? '-' : `${s.incidents.filter((i) => i.actionCorrect).length}/${s.incidents.length}`,
        String(s.falseMitigations),
      ]);
    }
    process.stdout.write(`${textTable(rows)}\n`);
    const m = result.summary;
    process.stdout.write(
      `\nOverall: ${m.detected}/${m.incidents} incidents mitigated on the right stack, ${m.beforeBreach} before their SLO breach; ` +
        `lead time median ${m.medianLeadMinutes?.toFixed(1) ?? '-'} min, worst ${m.worstLeadMinutes?.toFixed(1) ?? '-'} min; ` +
        `localization ${(m.localizationAccuracy * 100).toFixed(0)} %, action ${(m.actionAccuracy * 100).toFixed(0)} %; ` +
        `false mitigations ${m.falseMitigations} (${m.falsePerStackDay.toFixed(2)} per stack-day, ${m.trapMitigations} in trap scenarios)\n`,
    );
    for (const s of result.scenarios) for (const f of s.falseDetails) process.stdout.write(`  false: ${s.scenario}: ${f}\n`);
    const ahead = result.scenarios.flatMap((s) => s.preemptive.map((p) => ({ scenario: s.scenario, ...p })));
    if (ahead.length > 0) {
      const pre: string[][] = [['scenario', 'event', 'stack', 'saturates', 'recommended', 'lead (min)', 'capacity ×', 'needed to gate ×']];
      for (const p of ahead)
        pre.push([
          p.scenario,
          p.eventId,
          p.stack,
          p.saturates ? 'yes' : 'no',
          p.action ?? '-',
          p.leadMinutes === null ? '-' : p.leadMinutes.toFixed(0),
          p.capacityFactor === null ? '-' : p.capacityFactor.toFixed(2),
          p.saturates ? p.capacityFactorToGate.toFixed(2) : '-',
        ]);
      process.stdout.write(`\nScheduled events (look-ahead):\n${textTable(pre)}\n`);
      process.stdout.write(
        `\nLook-ahead: ${m.preemptedAhead}/${m.scheduledSaturating} saturating stacks recommended for ${PREEMPT_LEAD_MINUTES}+ min before the event, ` +
          `${m.preScaledEnough} pre-scaled to at least the capacity that keeps them under the gate\n`,
      );
    }
    const rollouts = result.scenarios.flatMap((s) => s.rollouts.map((r) => ({ scenario: s.scenario, ...r })));
    if (rollouts.length > 0) {
      // One row where the verdict changes and one for the last check (--json has every check).
      const gate: string[][] = [['scenario', 'deployment', 'stack', 'step %', 'check', 'verdict', 'first reason']];
      for (const r of rollouts) {
        const rows = r.checks.filter((c, i) => i === 0 || i === r.checks.length - 1 || c.verdict !== r.checks[i - 1]!.verdict);
        for (const c of rows)
          gate.push([
            r.scenario,
            `${r.deployId}${r.bad ? ' (incident)' : ''}`,
            r.stack,
            r.step === undefined ? '-' : String(r.step),
            `+${c.minutes} min (${new Date(c.at).toISOString().slice(11, 16)})`,
            c.verdict,
            c.reason,
          ]);
      }
      process.stdout.write(
        `\nRollout gate (every ${GATE_CHECK_MINUTES} min after each deployment, as Flagger or Argo Rollouts would ask):\n${textTable(gate)}\n`,
      );
      const caught = rollouts
        .filter((r) => r.bad)
        .map((r) =>
          r.rollbackMinutes === null
            ? `${r.scenario} ${r.deployId}: never`
            : `${r.scenario} ${r.deployId}: +${r.rollbackMinutes} min, ${r.rollbackLeadMinutes?.toFixed(0) ?? '-'} min before the breach`,
        );
      process.stdout.write(
        `\nRollout gate: ${m.badRolledBackBeforeBreach}/${m.badRollouts} bad rollouts told to roll back before their SLO breach` +
          `${caught.length > 0 ? ` (${caught.join('; ')})` : ''}, ${m.goodRolledBack}/${m.goodRollouts} good rollouts ever told to roll back\n`,
      );
    }
    return EXIT.ok;
  },
};
