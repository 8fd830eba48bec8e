#!/usr/bin/env node
/**
 * Disk-full probe for write-ahead-log stores (issue 13, item 1): what each store does when the disk
 * fills under it and then frees up again, the case a durable log exists for.
 *
 *   npm run build
 *   sudo node scripts/wal-store-disk-full-probe.mjs --store-module /tmp/lmdbtry/node_modules [--runs 4]
 *
 * Needs root (it mounts an 8 MiB tmpfs per run). The stores are NOT dependencies of the project:
 * install them in a scratch directory (`npm install lmdb better-sqlite3`) and point --store-module at its
 * node_modules. Each run is a child process: it writes 10 records of 500 samples, fills the disk with
 * a 20 MiB file, tries 190 more records (each must fail with an error, not kill the process), frees
 * the disk, writes 100 more (they must succeed), closes the store and reopens it (all 110 must be there).
 * Prints one line per run: exit code or signal, the first error, and whether each step held.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The child: one store, one run, on the mounted directory `dir`. Reports as JSON lines on stderr-free stdout. */
async function child(store, dir, storeModule) {
  const say = (o) => writeFileSync(1, `${JSON.stringify(o)}\n`);
  const rec = { op: 'ingest', samples: Array.from({ length: 500 }, (_, i) => ({ ts: i, signal: 'latency', metric: 'http_p99_ms', stack: 'a', service: 's', value: i / 7 })), events: [] };
  const req = createRequire(join(resolve(storeModule ?? repoRoot), '..', 'package.json'));
  let put;
  let close;
  let reopenCount;
  if (store === 'lmdb') {
    const { open } = req('lmdb');
    const db = open({ path: join(dir, 'wal.mdb'), noSync: true, compression: false });
    put = (seq, cmd) => db.putSync(seq, cmd);
    close = () => db.close();
    reopenCount = async () => {
      const again = open({ path: join(dir, 'wal.mdb'), noSync: true });
      const n = again.getCount();
      await again.close();
      return n;
    };
  } else if (store === 'sqlite') {
    const Database = req('better-sqlite3');
    const db = new Database(join(dir, 'wal.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE wal (seq INTEGER PRIMARY KEY, cmd TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO wal (seq, cmd) VALUES (?, ?)');
    put = (seq, cmd) => insert.run(seq, JSON.stringify(cmd));
    close = () => db.close();
    reopenCount = async () => {
      const again = new Database(join(dir, 'wal.sqlite'));
      const n = again.prepare('SELECT count(*) AS n FROM wal').get().n;
      again.close();
      return n;
    };
  } else {
    const { WriteAheadLog } = await import(pathToFileURL(join(repoRoot, 'dist/src/adapters/file/write-ahead-log.js')).href);
    const wal = new WriteAheadLog(join(dir, 'wal.jsonl'), 0);
    put = (_seq, cmd) => wal.append(cmd);
    close = () => {};
    reopenCount = async () => new WriteAheadLog(join(dir, 'wal.jsonl'), 0).takeUnapplied().length;
  }
  for (let i = 1; i <= 10; i++) put(i, rec);
  try {
    writeFileSync(join(dir, 'filler'), Buffer.alloc(20 << 20));
  } catch {
    // Expected: the filler takes what is left.
  }
  say({ step: 'full' });
  let failed = 0;
  let firstError;
  let seq = 10;
  for (let i = 0; i < 190; i++) {
    try {
      put(seq + 1, rec);
      seq++;
    } catch (e) {
      failed++;
      firstError ??= `${e.code ?? ''} ${e.message}`.trim().slice(0, 120);
    }
  }
  say({ step: 'refused', failed, firstError });
  rmSync(join(dir, 'filler'));
  for (let i = 0; i < 100; i++) put(++seq, rec);
  say({ step: 'resumed', seq });
  await close();
  say({ step: 'reopened', records: await reopenCount(), expected: seq });
}

function parent() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
  };
  if (args.includes('--help')) {
    console.log('usage: sudo node scripts/wal-store-disk-full-probe.mjs [--store-module DIR/node_modules] [--stores jsonl,lmdb,sqlite] [--runs N]');
    return;
  }
  const storeModule = opt('--store-module', process.env.HARBINGER_BENCH_STORE_MODULE);
  const stores = opt('--stores', storeModule ? 'jsonl,lmdb,sqlite' : 'jsonl').split(',');
  const runs = Number(opt('--runs', '4'));
  const base = mkdtempSync(join(tmpdir(), 'wal-disk-full-'));
  for (const store of stores) {
    for (let run = 1; run <= runs; run++) {
      const dir = join(base, `${store}-${run}`);
      mkdirSync(dir);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
      if (m.status !== 0) {
        console.log(`cannot mount a tmpfs (root needed): ${m.stderr.toString().trim()}`);
        process.exit(2);
      }
      try {
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', store, dir, storeModule ?? ''], { encoding: 'utf8', maxBuffer: 64 << 20 });
        const steps = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
        const by = Object.fromEntries(steps.map((s) => [s.step, s]));
        const exit = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
        const stderrLines = r.stderr.split(/(?=Write error)|\n/).filter((l) => l.trim() !== '');
        console.log(
          `${store} run ${run}: ${exit}; writes refused while full: ${by.refused ? `${by.refused.failed}/190 (${by.refused.firstError})` : 'process gone before the step ended'}; ` +
            `writes after space was freed: ${by.resumed ? 'ok' : 'no'}; reopened: ${by.reopened ? `${by.reopened.records}/${by.reopened.expected}` : 'no'}; ` +
            `stderr: ${stderrLines.length} lines${stderrLines.length ? `, last "${stderrLines[stderrLines.length - 1].slice(0, 60)}"` : ''}`,
        );
      } finally {
        spawnSync('umount', [dir]);
      }
    }
  }
  rmSync(base, { recursive: true, force: true });
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], process.argv[5] || undefined);
else parent();
