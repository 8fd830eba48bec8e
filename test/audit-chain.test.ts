import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditChain, canonicalJson, verifyChain } from '../src/core/audit/hash-chain.js';
import { FileAuditLog } from '../src/adapters/file/audit-log.js';

function log(n: number): string[] {
  const c = new AuditChain();
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify(c.append(1000 + i, 'recommendation.executed', i % 2 ? 'alice' : 'harbinger', { id: `r${i}`, percent: 20 })),
  );
}

describe('hash-chained audit log', () => {
  it('verifies an intact log', () => {
    expect(verifyChain(log(5))).toMatchObject({ ok: true, entries: 5, head: { seq: 5 } });
  });

  it('finds an edited line', () => {
    const lines = log(5);
    lines[2] = lines[2]!.replace('"percent":20', '"percent":50');
    expect(verifyChain(lines)).toMatchObject({ ok: false, entries: 2, problem: { line: 3, reason: expect.stringContaining('edited') } });
  });

  it('finds a removed line and a reordered pair', () => {
    const removed = log(5);
    removed.splice(1, 1);
    expect(verifyChain(removed)).toMatchObject({ ok: false, problem: { line: 2 } });
    const swapped = log(5);
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(verifyChain(swapped)).toMatchObject({ ok: false, problem: { line: 4 } });
  });

  it('finds a forged line even when its own hash was recomputed', () => {
    const lines = log(4);
    const forged = new AuditChain().append(1001, 'recommendation.executed', 'mallory', { id: 'r1', percent: 100 });
    lines[1] = JSON.stringify(forged);
    expect(verifyChain(lines).ok).toBe(false);
  });

  it('hashes independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 2, y: 3 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":3,"z":2}]},"b":1}');
  });

  it('a reopened file log continues the same chain', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    new FileAuditLog(path).append(1, 'a', 'x', {});
    new FileAuditLog(path).append(2, 'b', 'y', {});
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(verifyChain(lines)).toMatchObject({ ok: true, entries: 2 });
  });

  it('with a key, a log rewritten with recomputed plain hashes, or an entry forged without the key, is found', () => {
    const KEY = 'audit-key-0123456789abcdef';
    const c = new AuditChain(KEY);
    const lines = Array.from({ length: 4 }, (_, i) => JSON.stringify(c.append(1000 + i, 'outcome.approved', 'alice', { id: `r${i}` })));
    expect(verifyChain(lines, { key: KEY })).toMatchObject({ ok: true, entries: 4 });
    // Without the key the links are checked, authenticity is reported as not checked.
    expect(verifyChain(lines)).toMatchObject({ ok: true, unauthenticated: 4 });
    // Change the approver and recompute every hash as a plain chain: the keyed verify refuses it.
    const plain = new AuditChain();
    const rewritten = lines.map((l) => {
      const e = JSON.parse(l);
      return JSON.stringify(plain.append(e.ts, e.kind, e.actor === 'alice' ? 'mallory' : e.actor, e.payload));
    });
    expect(verifyChain(rewritten, { key: KEY }).ok).toBe(true); // a plain chain from the start proves nothing keyed...
    const spliced = [lines[0]!, ...rewritten.slice(1)];
    expect(verifyChain(spliced, { key: KEY })).toMatchObject({ ok: false, problem: { line: 2 } });
    // ...which is why serve checks the checkpointed head: the rewritten log no longer holds it.
    const head = verifyChain(lines, { key: KEY }).head;
    expect(verifyChain(rewritten, { key: KEY, anchor: head })).toMatchObject({
      ok: false,
      problem: { reason: expect.stringContaining('differs from the checkpointed head') },
    });
    // An entry appended with a guessed key does not authenticate.
    const forged = AuditChain.resume(head, 'guess').append(2000, 'outcome.approved', 'mallory', { id: 'r9' });
    expect(verifyChain([...lines, JSON.stringify(forged)], { key: KEY })).toMatchObject({
      ok: false,
      problem: { line: 5, reason: expect.stringContaining('HMAC') },
    });
  });

  it('finds a log cut short, or emptied, against the checkpointed head', () => {
    const lines = log(6);
    const head = verifyChain(lines).head;
    expect(verifyChain(lines.slice(0, 5), { anchor: head })).toMatchObject({ ok: false, problem: { reason: expect.stringContaining('cut off') } });
    expect(verifyChain([], { anchor: head }).ok).toBe(false);
    expect(verifyChain(lines, { anchor: head }).ok).toBe(true);
  });

  it('opening repairs a torn last line (and says so in the log), but refuses a log edited in the middle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const path = join(dir, 'audit.jsonl');
    const a = new FileAuditLog(path);
    a.append(1, 'a', 'x', {});
    a.append(2, 'b', 'x', {});
    appendFileSync(path, '{"seq":3,"ts":3,"kind":"c","act');
    const reopened = new FileAuditLog(path, { now: () => 99 });
    expect(reopened.opened).toMatchObject({ entries: 2, repaired: { line: 3, bytes: '{"seq":3,"ts":3,"kind":"c","act'.length } });
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(verifyChain(lines)).toMatchObject({ ok: true, entries: 3 });
    expect(JSON.parse(lines[2]!)).toMatchObject({ seq: 3, ts: 99, kind: 'audit.repaired' });
    const edited = lines.map((l, i) => (i === 1 ? l.replace('"kind":"b"', '"kind":"z"') : l)).join('\n');
    writeFileSync(path, edited);
    expect(() => new FileAuditLog(path)).toThrow(/fails verification at line 2: content does not match its hash/);
  });

  it('a failed append (ENOSPC from /dev/full) leaves the chain where it was, so the next append links correctly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const path = join(dir, 'audit.jsonl');
    const a = new FileAuditLog(path);
    a.append(1, 'a', 'x', {});
    const kept = readFileSync(path);
    rmSync(path);
    symlinkSync('/dev/full', path);
    expect(() => a.append(2, 'b', 'x', {})).toThrow(/ENOSPC/);
    expect(a.head.seq).toBe(1);
    rmSync(path);
    writeFileSync(path, kept);
    a.append(3, 'c', 'x', {});
    expect(verifyChain(readFileSync(path, 'utf8').split('\n'))).toMatchObject({ ok: true, entries: 2 });
  });
});
