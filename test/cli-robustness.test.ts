import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnListening, trackTempDir, waitFor, type ManagedProcess } from './support/index.js';

// The built CLI, spawned as a user runs it (`npm test` builds first): exit codes, stderr and stdin
// are what these tests are about, and only a real process has them.
const CLI = 'dist/src/cli/main.js';
const FIXTURE = 'fixtures/scenarios/bad-deploy.jsonl';
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function harbinger(args: string[], input?: string | Buffer): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on stderr naming what is wrong, the expected exit code, and no stack trace. */
function expectCleanError(r: Run, code: number, message: RegExp): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  expect(r.status).toBe(code);
}

/** A summary line's text after its label, e.g. summaryLine(out, 'incidents') → "opened 14, ...". */
const summaryLine = (stdout: string, label: string): string | undefined =>
  stdout
    .split('\n')
    .find((l) => l.startsWith(`  ${label} `))
    ?.slice(label.length + 3);

/** Output events of a replay's --out file. */
const events = (path: string): { type: string; transition?: string; action?: string; confidence?: number }[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string });

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(() => {
  expect(readFileSync(CLI, 'utf8'), 'build first: npm run build').toContain('harbinger');
  dir = mkdtempSync(join(tmpdir(), 'hb-cli-'));
  cleanup = trackTempDir(dir);
  writeFileSync(join(dir, 'a-file'), 'not a directory\n');
});
afterAll(() => cleanup());

describe('harbinger top level', () => {
  it('prints the package version with --version, and the help says so and gives the exit codes', () => {
    expect(harbinger(['--version'])).toEqual({ status: 0, stdout: `harbinger ${pkg.version}\n`, stderr: '' });
    const help = harbinger(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--version');
    expect(help.stdout).toMatch(/Exit status.*0 success; 1 .*; 2 usage/s);
  });

  it('answers --help for every command it lists, and `help <command>` alike', () => {
    const names = [...harbinger(['--help']).stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!);
    expect(names).toEqual(expect.arrayContaining(['serve', 'replay', 'score', 'eval', 'eval-suite', 'nab', 'audit', 'train']));
    for (const name of names) {
      const r = harbinger([name, '--help']);
      expect({ name, status: r.status, usage: r.stdout.startsWith(`Usage: harbinger ${name}`) }).toEqual({ name, status: 0, usage: true });
    }
    expect(harbinger(['help', 'replay']).stdout).toBe(harbinger(['replay', '--help']).stdout);
  });
});

describe('bad command lines: one line on stderr naming the argument and the reason, exit 2, no stack trace', () => {
  const under = (name: string): string => join(dir, 'a-file', name); // a path whose parent is a file
  const cases: [string, () => string[], RegExp][] = [
    ['unknown command', () => ['--bogus'], /unknown command '--bogus'/],
    ['unknown option', () => ['replay', FIXTURE, '--bogus'], /harbinger replay: .*'--bogus'/],
    ['stray argument', () => ['replay', FIXTURE, 'extra'], /unexpected argument 'extra'/],
    ['replay without input', () => ['replay'], /harbinger replay: missing <input.jsonl>/],
    ['replay of a missing file', () => ['replay', '/nope.jsonl'], /harbinger replay: \/nope.jsonl: does not exist/],
    [
      'replay --out in a missing directory',
      () => ['replay', FIXTURE, '--out', '/nonexistent/dir/x'],
      /--out \/nonexistent\/dir\/x: directory \/nonexistent\/dir does not exist/,
    ],
    ['replay --rejects under a file', () => ['replay', FIXTURE, '--rejects', under('r')], /--rejects .*a-file\/r: directory .*a-file is not a directory/],
    ['replay --audit in a missing directory', () => ['replay', FIXTURE, '--audit', '/nonexistent/a.jsonl'], /--audit \/nonexistent\/a.jsonl: /],
    ['replay --config missing', () => ['replay', FIXTURE, '--config', '/nope.yaml'], /--config \/nope.yaml: does not exist/],
    ['replay --model without a model', () => ['replay', FIXTURE, '--model', dir], /--model .*: no model/],
    ['eval of a missing directory', () => ['eval', '/nope'], /harbinger eval: \/nope: does not exist/],
    ['eval of a file', () => ['eval', join(dir, 'a-file')], /a-file: is not a directory/],
    ['eval of a directory without fixtures', () => ['eval', dir], /no <name>.truth.json/],
    ['score of a missing file', () => ['score', '/nope.csv'], /harbinger score: \/nope.csv: does not exist/],
    ['score --out under a file', () => ['score', FIXTURE, '--out', under('s.csv')], /--out .*is not a directory/],
    ['audit verify of a missing file', () => ['audit', 'verify', '/nope.jsonl'], /harbinger audit: \/nope.jsonl: does not exist/],
    ['train --out under a file', () => ['train', '--out', under('model')], /harbinger train: --out .*a-file is not a directory/],
    ['eval-suite --keep under a file', () => ['eval-suite', '--keep', under('keep')], /--keep .*a-file is not a directory/],
    ['serve --config missing', () => ['serve', '--port', '0', '--config', '/nope.yaml'], /harbinger serve: cannot read config \/nope.yaml/],
    ['serve --data-dir under a file', () => ['serve', '--port', '0', '--data-dir', under('data')], /data directory .*a-file is not a directory/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    expectCleanError(harbinger(args()), 2, message);
  });
});

describe('failures while running: one line, exit 1', () => {
  it('a corrupt .gz input', () => {
    const input = join(dir, 'corrupt.jsonl.gz');
    writeFileSync(input, 'not gzip at all\n');
    expectCleanError(harbinger(['replay', input]), 1, /harbinger replay: .*corrupt.jsonl.gz: not valid gzip/);
  });

  it('serve on a port already taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const r = spawnSync(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', join(dir, 'taken')], { encoding: 'utf8', timeout: 30_000 });
      // stdout carries serve's structured log; the error is stderr's one line.
      expectCleanError({ status: r.status, stdout: r.stdout, stderr: r.stderr }, 1, /harbinger serve: listen EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describe('harbinger replay', () => {
  it('exits 1 and says so when no line is valid, after the summary of what was rejected', () => {
    const input = join(dir, 'all-bad.jsonl');
    writeFileSync(input, 'garbage\n{"type":"sample"}\n');
    const r = harbinger(['replay', input]);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`harbinger replay: no valid line in ${input} (all 2 lines rejected)`);
    expect(summaryLine(r.stdout, 'invalid')).toMatch(/^2, late 0, conflicting 0 \(by reason: /);
    const empty = harbinger(['replay', '-'], '');
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('no valid line in <stdin> (it is empty)');
  });

  it('exits 0 with some invalid lines, showing the first five with line numbers and counting all of them', () => {
    const input = join(dir, 'some-bad.jsonl');
    const good = readFileSync(FIXTURE, 'utf8').split('\n').slice(0, 200);
    writeFileSync(input, [...good.slice(0, 100), ...Array<string>(7).fill('not json'), ...good.slice(100)].join('\n'));
    const r = harbinger(['replay', input, '--quiet']);
    expect(r.status).toBe(0);
    expect(summaryLine(r.stdout, 'invalid')).toMatch(/^7, .*by reason: invalid JSON 7/);
    expect(r.stderr).toContain(`${input}:101: invalid JSON`);
    expect(r.stderr).toContain(`${input}: 2 more invalid lines not shown`);
  });

  it("reads '-' from standard input, plain or gzip, exactly as it reads the file", () => {
    const text = readFileSync(FIXTURE);
    const fromFile = harbinger(['replay', FIXTURE]);
    const sameOutput = (r: Run): string => r.stdout.replace(/^Summary of .*$/m, '').replace(/^ {2}[\d,]+ samples\/s.*$/m, '');
    for (const input of [text, gzipSync(text)]) {
      const fromStdin = harbinger(['replay', '-'], input);
      expect(fromStdin.status).toBe(0);
      expect(fromStdin.stdout).toContain('Summary of <stdin>');
      expect(sameOutput(fromStdin)).toBe(sameOutput(fromFile));
    }
  });

  it('summarizes what serve would have decided, and the counts agree with the events it wrote', () => {
    const out = join(dir, 'events.jsonl');
    const r = harbinger(['replay', FIXTURE, '--quiet', '--out', out]);
    expect(r.status).toBe(0);
    const all = events(out);
    const opened = all.filter((e) => e.type === 'incident' && e.transition === 'opened').length;
    const recs = all.filter((e) => e.type === 'recommendation');
    expect(opened).toBeGreaterThan(0);
    expect(summaryLine(r.stdout, 'incidents')).toMatch(new RegExp(`^opened ${opened}, mitigated \\d+, resolved \\d+$`));
    expect(summaryLine(r.stdout, 'recommendations')).toMatch(new RegExp(`^${recs.length} by action: .*rollback 1.*; by status: .*executed 1`));
    expect(summaryLine(r.stdout, 'mitigations')).toMatch(/^1 \(rollback 1\): executed 1/);
    // With serve's default (a human approves), the same mitigation waits, no one answers, and it expires.
    const human = join(dir, 'human.yaml');
    writeFileSync(human, 'decision:\n  execution:\n    approval: human\n');
    const waited = harbinger(['replay', FIXTURE, '--quiet', '--config', human]);
    expect(summaryLine(waited.stdout, 'mitigations')).toBe('1 (rollback 1): expired 1');
    // The lines asserted before this change are still there.
    expect(r.stdout).toMatch(/^ {2}lines 25925, samples \d+, context events \d+, series \d+$/m);
    expect(r.stdout).toMatch(/^ {2}anomalies \d+, predictions \d+, deltas \d+, breaches \d+, recoveries \d+$/m);
  });
});

describe('replay decides with the confidence model serve would use', () => {
  let learnedDir: string;
  let config: string;
  const procs: ManagedProcess[] = [];
  beforeAll(() => {
    // A copy of the shipped model whose selection.json picks the learned model, as training does when it wins.
    learnedDir = join(dir, 'model');
    mkdirSync(learnedDir);
    for (const f of ['model.json', 'weights.bin']) copyFileSync(join('models/confidence', f), join(learnedDir, f));
    const selection = JSON.parse(readFileSync('models/confidence/selection.json', 'utf8')) as Record<string, unknown>;
    writeFileSync(join(learnedDir, 'selection.json'), JSON.stringify({ ...selection, default: 'learned' }));
    config = join(dir, 'learned.yaml');
    writeFileSync(config, `server:\n  confidenceModel: ${JSON.stringify(learnedDir)}\n`);
  });
  afterAll(async () => {
    for (const p of procs) await p.stop();
  });

  it('follows selection.json by default; --model overrides it', () => {
    const out = (name: string): string => join(dir, `${name}.jsonl`);
    const selected = harbinger(['replay', FIXTURE, '--quiet', '--config', config, '--out', out('selected')]);
    expect(summaryLine(selected.stdout, 'confidence:')).toMatch(/^learned model f1-[0-9a-f]+, as serve would decide/);
    // The same decisions as the learned model forced with --model: the selection put it in charge.
    harbinger(['replay', FIXTURE, '--quiet', '--model', learnedDir, '--out', out('forced')]);
    expect(readFileSync(out('selected'), 'utf8')).toBe(readFileSync(out('forced'), 'utf8'));

    const formula = harbinger(['replay', FIXTURE, '--quiet', '--config', config, '--model', 'formula', '--out', out('formula')]);
    expect(summaryLine(formula.stdout, 'confidence:')).toBe('formula (--model formula)');
    const confidences = (name: string): number[] => events(out(name)).flatMap((e) => (e.type === 'recommendation' ? [e.confidence!] : []));
    expect(confidences('formula')).not.toEqual(confidences('selected'));

    // The shipped selection keeps the formula until a comparison says otherwise: replay does too.
    const shipped = harbinger(['replay', FIXTURE, '--quiet']);
    const keeps = (JSON.parse(readFileSync('models/confidence/selection.json', 'utf8')) as { default: string }).default === 'formula';
    expect(summaryLine(shipped.stdout, 'confidence:')).toMatch(keeps ? /^formula, as serve would decide/ : /^learned model /);
  });

  it('names the same model serve reports on /metrics for the same configuration', async () => {
    const replayed = summaryLine(harbinger(['replay', FIXTURE, '--quiet', '--config', config]).stdout, 'confidence:');
    const { proc, port } = await spawnListening(
      'serve-model',
      (p) => ({ command: process.execPath, args: [CLI, 'serve', '--port', String(p), '--config', config, '--data-dir', join(dir, 'data')] }),
      (p) => `http://127.0.0.1:${p}/healthz`,
      30_000,
    );
    procs.push(proc);
    // Serve loads the model after it starts answering: wait for its gauge to name one.
    const served = await waitFor(
      async () =>
        /^harbinger_confidence_model_info\{source="learned",version="([^"]+)"[^}]*\} 1$/m.exec(
          await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        )?.[1],
      20_000,
      { description: 'serve to report a learned model', context: () => proc.logs() },
    );
    expect(served).toMatch(/^f1-/);
    expect(replayed).toContain(`learned model ${served},`);
  });
});

describe('harbinger config check', () => {
  it('prints the configuration serve will run with, defaults and the fail-closed approval included', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, 'decision:\n  guardrails:\n    maxShiftPercent: 10\n');
    const r = harbinger(['config', 'check', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('maxShiftPercent: 10');
    expect(r.stdout).toContain('approval: human');
    expect(r.stdout).toContain('allowedLatenessSeconds: 120');
    expect(harbinger(['config', 'check', file, '--replay']).stdout).toContain('approval: auto');
  });

  it('refuses a misspelled guardrail with the key it was meant to be, exit 2', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'decision:\n  guardrail:\n    maxShiftPercent: 80\n');
    const r = harbinger(['config', 'check', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("decision: unknown key 'guardrail' (did you mean 'guardrails'?)");
    expect(r.stdout).toBe('');
  });
});
