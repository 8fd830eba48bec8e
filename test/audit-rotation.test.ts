import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditFiles } from '../src/adapters/file/audit-files.js';
import { FileAuditLog } from '../src/adapters/file/audit-log.js';
import { logFiles, rotate } from '../src/adapters/file/rotated-files.js';
import type { AuditEntry } from '../src/core/audit/hash-chain.js';

// The audit log rotated by size is still one chain: audit verify reads the files in order and finds
// what it found in one file, plus a rotated file missing or out of order; every crash point of a
// rotation leaves a chain that verifies and a log that opens.

const fresh = (): string => join(mkdtempSync(join(tmpdir(), 'audit-rot-')), 'audit.jsonl');
/** Small files: a few entries each. */
const SMALL = { maxFileBytes: 700, keepFiles: 'all' as const };
const verify = (path: string, anchor?: { seq: number; hash: string }) => verifyAuditFiles(logFiles(path), anchor !== undefined ? { anchor } : {});
const entries = (file: string): AuditEntry[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEntry);

function write(path: string, n: number, opts: ConstructorParameters<typeof FileAuditLog>[1] = { rotation: SMALL }): FileAuditLog {
  const log = new FileAuditLog(path, opts);
  for (let i = 0; i < n; i++) log.append(1000 + i, 'recommendation.created', 'harbinger', { id: `r${i}`, note: 'x'.repeat(40) });
  return log;
}

describe('audit log rotation', () => {
  it('rotates by size into numbered files, the chain continuing across them; reopening continues it', () => {
    const path = fresh();
    const log = write(path, 30);
    const files = logFiles(path);
    expect(files.length).toBeGreaterThan(4);
    expect(files.slice(0, 3).map((f) => basename(f))).toEqual(['audit.jsonl.000001', 'audit.jsonl.000002', 'audit.jsonl.000003']);
    for (const f of files.slice(0, -1)) expect(readFileSync(f).byteLength).toBeLessThanOrEqual(SMALL.maxFileBytes);
    for (let i = 1; i < files.length; i++) {
      const last = entries(files[i - 1]!).at(-1)!;
      const first = entries(files[i]!)[0]!;
      expect(first).toMatchObject({ seq: last.seq + 1, prevHash: last.hash });
    }
    expect(verify(path)).toMatchObject({ ok: true, entries: 30, head: log.head });
    const again = write(path, 5);
    expect(again.opened.entries).toBe(30);
    expect(verify(path)).toMatchObject({ ok: true, entries: 35 });
  });

  // Table: one tampering per case, and where verification must point.
  const cases: { name: string; tamper: (files: string[]) => void; problem: RegExp; file?: number }[] = [
    {
      name: 'an entry edited in a rotated file',
      tamper: (f) => writeFileSync(f[1]!, readFileSync(f[1]!, 'utf8').replace('"id":"r', '"id":"R')),
      problem: /edited/,
      file: 1,
    },
    {
      name: 'an entry removed from a rotated file',
      tamper: (f) => writeFileSync(f[1]!, `${readFileSync(f[1]!, 'utf8').split('\n').slice(1).join('\n')}`),
      problem: /removed, inserted or reordered/,
      file: 1,
    },
    {
      name: 'two entries swapped in a rotated file',
      tamper: (f) => {
        const l = readFileSync(f[2]!, 'utf8').split('\n');
        [l[0], l[1]] = [l[1]!, l[0]!];
        writeFileSync(f[2]!, l.join('\n'));
      },
      problem: /reordered/,
      file: 2,
    },
    { name: 'a rotated file in the middle deleted', tamper: (f) => rmSync(f[2]!), problem: /rotated file is missing or out of order/, file: 2 },
    {
      name: 'two rotated files swapped',
      tamper: (f) => {
        renameSync(f[1]!, `${f[1]}.tmp`);
        renameSync(f[2]!, f[1]!);
        renameSync(`${f[1]}.tmp`, f[2]!);
      },
      problem: /rotated file is missing or out of order/,
      file: 1,
    },
    {
      name: 'the oldest file deleted (no audit.pruned entry says so)',
      tamper: (f) => rmSync(f[0]!),
      problem: /beginning \(a rotated file\) is missing/,
      file: 0,
    },
  ];
  for (const c of cases)
    it(`finds ${c.name}`, () => {
      const path = fresh();
      write(path, 30);
      const before = logFiles(path);
      c.tamper(before);
      const r = verify(path);
      expect(r.ok).toBe(false);
      expect(r.problem!.reason).toMatch(c.problem);
      if (c.file !== undefined) expect(basename(r.problem!.file)).toBe(basename(logFiles(path)[c.file]!));
      expect(() => new FileAuditLog(path, { rotation: SMALL })).toThrow(/fails verification/);
    });

  it('finds a log cut short against the checkpointed head: the live file or the newest rotated file removed', () => {
    const path = fresh();
    const head = write(path, 30).head;
    expect(verify(path, head).ok).toBe(true);
    const files = logFiles(path);
    rmSync(files.at(-1)!);
    expect(verify(path).ok).toBe(true); // a chain alone cannot see its end cut off...
    expect(verify(path, head)).toMatchObject({ ok: false, problem: { reason: expect.stringMatching(/cut off/) } }); // ...the head can
    rmSync(files.at(-2)!);
    expect(verify(path, head).ok).toBe(false);
  });

  it('keepFiles: records each deletion in the chain first, so a pruned beginning verifies and one more deletion does not', () => {
    const path = fresh();
    const log = write(path, 60, { rotation: { maxFileBytes: 700, keepFiles: 2 } });
    const files = logFiles(path);
    expect(files).toHaveLength(3); // two rotated + the live one
    const all = files.flatMap(entries);
    const pruned = all.filter((e) => e.kind === 'audit.pruned');
    // Records of earlier deletions went with the files that held them; the latest one names where the log starts.
    expect(pruned.length).toBeGreaterThan(0);
    expect(pruned.at(-1)!.payload).toMatchObject({ throughSeq: entries(files[0]!)[0]!.seq - 1 });
    expect(verify(path, log.head)).toMatchObject({ ok: true, head: log.head });
    rmSync(files[0]!);
    expect(verify(path).problem?.reason).toMatch(/no audit\.pruned entry records/);
  });

  describe('every crash point of a rotation leaves a log that verifies, opens and goes on', () => {
    const policy = { maxFileBytes: 700, keepFiles: 2 };
    /** Runs appends until the next rotation prunes; returns the files that rotation deleted, copied before it. */
    function upToAPrune(path: string): { log: FileAuditLog; saved: { path: string; data: Buffer }[] } {
      const log = write(path, 20, { rotation: policy });
      for (let i = 0; ; i++) {
        const saved = logFiles(path).map((p) => ({ path: p, data: readFileSync(p) }));
        log.append(5000 + i, 'k', 'a', { note: 'y'.repeat(40) });
        const gone = saved.filter((s) => !existsSync(s.path));
        if (gone.length > 0) return { log, saved: gone };
      }
    }
    const goesOn = (path: string, expectEntries?: number): void => {
      expect(verify(path).ok).toBe(true);
      const reopened = write(path, 25, { rotation: policy });
      if (expectEntries !== undefined) expect(reopened.opened.entries).toBe(expectEntries);
      expect(verify(path, reopened.head).ok).toBe(true);
      expect(logFiles(path).length).toBeLessThanOrEqual(policy.keepFiles + 1 + 1);
    };

    it('after the rename, before the next entry (no live file)', () => {
      const path = fresh();
      const head = write(path, 10, { rotation: policy }).head;
      rotate(path);
      expect(existsSync(path)).toBe(false);
      expect(verify(path, head).ok).toBe(true);
      goesOn(path, head.seq);
    });

    it('after the audit.pruned entries, before any rotated file was deleted', () => {
      const path = fresh();
      const { saved } = upToAPrune(path);
      for (const s of saved) writeFileSync(s.path, s.data);
      goesOn(path);
    });

    it('between two deletions (oldest deleted, the next not yet)', () => {
      const path = fresh();
      const log = write(path, 20, { rotation: { maxFileBytes: 700, keepFiles: 'all' } });
      const head = log.head;
      // Four rotated files; reopening with keepFiles 1 prunes three at the next rotation.
      expect(logFiles(path).length).toBeGreaterThanOrEqual(5);
      const l = new FileAuditLog(path, { rotation: { maxFileBytes: 700, keepFiles: 1 } });
      const before = logFiles(path).map((p) => ({ path: p, data: readFileSync(p) }));
      while (logFiles(path).every((p) => before.some((b) => b.path === p))) l.append(9, 'k', 'a', { note: 'z'.repeat(40) });
      const gone = before.filter((b) => !existsSync(b.path));
      expect(gone.length).toBeGreaterThanOrEqual(2);
      // Put back all but the oldest: the crash came right after the first unlink.
      for (const g of gone.slice(1)) writeFileSync(g.path, g.data);
      expect(verify(path, head).ok).toBe(true);
      goesOn(path);
    });

    it('mid-append in the new live file (a torn last line): repaired at open', () => {
      const path = fresh();
      write(path, 10, { rotation: policy });
      rotate(path);
      appendFileSync(path, '{"seq":99,"ts":');
      const l = new FileAuditLog(path, { rotation: policy, now: () => 1 });
      expect(l.opened.repaired).toBeDefined();
      expect(verify(path).ok).toBe(true);
    });
  });

  it('survives SIGKILL at random points of appending and rotating (20 kills)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-kill-'));
    const path = join(dir, 'audit.jsonl');
    const script = join(dir, 'writer.mjs');
    const mod = join(process.cwd(), 'dist/src/adapters/file/audit-log.js');
    writeFileSync(
      script,
      `import { FileAuditLog } from ${JSON.stringify(mod)};
       const log = new FileAuditLog(${JSON.stringify(path)}, { rotation: { maxFileBytes: 2000, keepFiles: 3 }, now: () => 0 });
       process.stdout.write('ready\\n');
       for (let i = 0; ; i++) log.append(i, 'k', 'a', { i, note: 'w'.repeat(i % 200) });`,
    );
    let lastHead = { seq: 0, hash: '' };
    for (let kill = 0; kill < 20; kill++) {
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 20 + ((kill * 37) % 120)));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // Opening repairs at most a torn last line; the whole chain then verifies and has grown.
      const reopened = new FileAuditLog(path, { rotation: { maxFileBytes: 2000, keepFiles: 3 }, now: () => 0 });
      const r = verify(path, reopened.head);
      expect(r.ok, JSON.stringify(r.problem)).toBe(true);
      expect(reopened.head.seq).toBeGreaterThan(lastHead.seq);
      lastHead = reopened.head;
    }
    expect(readdirSync(dir).filter((f) => /^audit\.jsonl\.\d+$/.test(f)).length).toBeLessThanOrEqual(4);
  }, 120_000);

  it('harbinger audit verify reads the rotated files as one chain and names the file of a problem', () => {
    const path = fresh();
    write(path, 30);
    const files = logFiles(path);
    const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/src/cli/main.js', 'audit', 'verify', ...args], { encoding: 'utf8' });
    let r = cli(path);
    expect(r.stdout).toMatch(new RegExp(`intact, 30 entries in ${files.length} files`));
    expect(r.status).toBe(0);
    copyFileSync(files[1]!, `${files[1]}.bak`); // not a rotated name: ignored
    rmSync(files[1]!);
    r = cli(path);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/BROKEN at .*audit\.jsonl\.000003 line 1: sequence \d+ where \d+ was expected/);
    // A pruned beginning is intact, and said so.
    const p1 = fresh();
    write(p1, 60, { rotation: { maxFileBytes: 700, keepFiles: 2 } });
    expect(cli(p1).stdout).toMatch(/intact, \d+ entries in 3 files \(entries \d+-\d+; the \d+ before them pruned by rotation/);
    // Only rotated files, the live one not created yet (a crash right after a rotation).
    const p2 = fresh();
    write(p2, 12);
    rotate(p2);
    expect(cli(p2).status).toBe(0);
  });
});
