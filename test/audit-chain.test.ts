import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
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
    expect(verifyChain(log(5))).toEqual({ ok: true, entries: 5 });
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
    expect(verifyChain(lines)).toEqual({ ok: true, entries: 2 });
  });
});
