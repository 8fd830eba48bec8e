#!/usr/bin/env node
/**
 * WAL store benchmark (issue 13, item 1): can an embedded database (SQLite) keep `harbinger serve`'s
 * ingest rate as its write-ahead log, next to the hand-written JSON-lines log it uses today?
 *
 *   npm run build   # the JSONL row uses the real WriteAheadLog from dist/
 *   node scripts/wal-store-bench.mjs --store-module /tmp/sqlbench/node_modules
 *
 * better-sqlite3 is the project's own dependency (the log is SQLite since issue 13); LMDB is not:
 * install `lmdb` in a scratch directory and point --store-module (or HARBINGER_BENCH_STORE_MODULE)
 * at its node_modules, e.g. `mkdir -p /tmp/walbench && cd /tmp/walbench && npm init -y && npm install lmdb`.
 * Without it the lmdb row is skipped. See also scripts/wal-store-disk-full-probe.mjs (a full disk).
 *
 * What is measured, per store, for N records (one record = one `ingest` command of B samples, what
 * one HTTP request logs; each one must be written before the request is answered, so one write per
 * record, nothing batched across records):
 *   - append: the record's encoding + the store's write, timed per record
 *     (records/s, samples/s, p50/p99/p99.9/max latency in µs), then the size on disk;
 *   - recovery: reopening the full log and reading back what a crash would replay;
 *   - the cut after a checkpoint: a checkpoint marked at 90 % of the records (records keep arriving
 *     while a streamed checkpoint is written), then everything up to the mark dropped.
 * Stores:
 *   wal              the repo's WriteAheadLog (SQLite: journal_mode=WAL, synchronous=NORMAL, one INSERT per
 *                    record; the cut deletes 256 records per statement and yields between: `longest` is the
 *                    longest single statement, what ingest waits for)
 *   jsonl            the JSON-lines log it replaced (appendFileSync per record, no fsync; the cut copies the
 *                    tail and renames it), reimplemented here: survives SIGKILL, not power loss
 *   sqlite-normal    a plain table (seq INTEGER PRIMARY KEY, cmd TEXT), WAL mode, synchronous=NORMAL, one
 *                    autocommit INSERT per record, one DELETE for the cut: the same durability as jsonl
 *   sqlite-full      the same with synchronous=FULL (fsync per commit: survives power loss), reference
 *   lmdb             lmdb-js (msgpack values, noSync: the same durability), putSync per record (--store-module)
 *   jsonl-fdatasync  the JSON-lines append + fdatasync per record, reference
 *   serialize-only   JSON.stringify of the record and nothing else: the floor every JSON store pays
 * Options: --records N (20000) --batch B (500) --sync-records N (2000) --keep-fraction F (0.1)
 *          --ingest-rate R (290000 samples/s: the README's JSONL replay figure, top of its range; for the
 *          headroom column) --dir D (a new dir under the OS temp dir)
 *          --stores a,b,c (all) --store-module PATH
 * Ends with one JSON line of every figure.
 */
import { appendFileSync, closeSync, fdatasyncSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { linesSync } from '../dist/src/adapters/file/line-reader.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = {
    records: 20000,
    batch: 500,
    syncRecords: 2000,
    keepFraction: 0.1,
    // The README's Throughput table: JSONL replay (read + parse + validate + pipeline), top of its range.
    ingestRate: 290000,
    dir: undefined,
    stores: ['serialize-only', 'wal', 'jsonl', 'sqlite-normal', 'sqlite-full', 'lmdb', 'jsonl-fdatasync'],
    storeModule: process.env.HARBINGER_BENCH_STORE_MODULE,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--records') opts.records = Number(next());
    else if (a === '--batch') opts.batch = Number(next());
    else if (a === '--sync-records') opts.syncRecords = Number(next());
    else if (a === '--keep-fraction') opts.keepFraction = Number(next());
    else if (a === '--ingest-rate') opts.ingestRate = Number(next());
    else if (a === '--dir') opts.dir = next();
    else if (a === '--stores') opts.stores = next().split(',');
    else if (a === '--store-module') opts.storeModule = next();
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['records', 'batch', 'syncRecords', 'ingestRate']) {
    if (!Number.isInteger(opts[k]) || opts[k] <= 0) throw new Error(`--${k} must be a positive integer`);
  }
  if (!(opts.keepFraction >= 0 && opts.keepFraction < 1)) throw new Error('--keep-fraction must be in [0, 1)');
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Records: `{op: 'ingest', samples, events}` as EmbeddedRuntime.ingest logs it, samples shaped like
// the fixtures' (src/domain/types.ts Sample: ts in epoch ms). A pool of distinct batches is cycled
// (10 M live sample objects would measure the garbage collector, not the store).

const SERVICES = ['checkout', 'cart', 'payments', 'search', 'catalog', 'identity', 'orders', 'shipping', 'pricing', 'reviews', 'inventory', 'notifications'];
const STACKS = ['us-east-1', 'us-west-2'];
const METRICS = [
  ['latency', 'http_p99_ms', () => Math.round((120 + Math.random() * 80) * 100) / 100, false],
  ['latency', 'http_p50_ms', () => Math.round((20 + Math.random() * 15) * 100) / 100, false],
  ['reliability', 'http_error_ratio', () => Math.round(Math.random() * 0.002 * 1e9) / 1e9, true],
  ['business', 'orders_per_min', () => Math.round(150 + Math.random() * 90), false],
  ['capacity', 'cpu_utilization', () => Math.round(Math.random() * 10000) / 10000, false],
  ['capacity', 'saturation_ratio', () => Math.round(Math.random() * 1e6) / 1e6, false],
];

function makePool(batch, poolSize) {
  const t0 = Date.parse('2026-03-01T00:00:00Z');
  const series = [];
  for (const service of SERVICES) for (const stack of STACKS) for (const m of METRICS) series.push({ service, stack, m });
  const pool = [];
  let k = 0;
  for (let b = 0; b < poolSize; b++) {
    const samples = [];
    for (let i = 0; i < batch; i++, k++) {
      const { service, stack, m } = series[k % series.length];
      const [signal, metric, value, counted] = m;
      const s = { ts: t0 + Math.floor(k / series.length) * 15000, signal, metric, stack, service, value: value() };
      if (counted) s.count = 1000 + Math.floor(Math.random() * 4000);
      samples.push(s);
    }
    pool.push({ op: 'ingest', samples, events: [] });
  }
  return pool;
}

// ---------------------------------------------------------------------------------------------

function stats(lat) {
  const s = Float64Array.from(lat).sort();
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] * 1000;
  let sum = 0;
  for (const x of s) sum += x;
  return { p50Us: q(0.5), p99Us: q(0.99), p999Us: q(0.999), maxUs: s[s.length - 1] * 1000, meanUs: (sum / s.length) * 1000 };
}

function sizeOf(...paths) {
  let n = 0;
  for (const p of paths) if (existsSync(p)) n += statSync(p).size;
  return n;
}

/** Appends `n` records through `append(seq, cmd)`; marks the checkpoint position after `markAt`. */
function appendLoop(pool, n, markAt, append, mark) {
  const lat = new Float64Array(n);
  let markValue;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const cmd = pool[i % pool.length];
    const a = performance.now();
    append(i + 1, cmd);
    lat[i] = performance.now() - a;
    if (i + 1 === markAt) markValue = mark();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { lat, seconds, mark: markValue };
}

function appendFigures(n, batch, seconds, lat) {
  return { records: n, samples: n * batch, seconds, recordsPerSec: n / seconds, samplesPerSec: (n * batch) / seconds, ...stats(lat) };
}

async function benchWal(dir, pool, opts) {
  const url = pathToFileURL(join(repoRoot, 'dist/src/adapters/file/write-ahead-log.js')).href;
  let WriteAheadLog;
  try {
    ({ WriteAheadLog } = await import(url));
  } catch (e) {
    throw new Error(`cannot import ${url} (run \`npm run build\` first): ${e.message}`);
  }
  const path = join(dir, 'wal.sqlite');
  const files = [path, `${path}-wal`, `${path}-shm`];
  const n = opts.records;
  const wal = new WriteAheadLog(path, 0);
  const markAt = Math.round(n * (1 - opts.keepFraction));
  const r = appendLoop(
    pool,
    n,
    markAt,
    (_seq, cmd) => wal.append(cmd),
    () => wal.mark(),
  );
  const out = appendFigures(n, opts.batch, r.seconds, r.lat);
  out.bytes = sizeOf(...files);
  // Recovery: what serve does at start after a crash before the checkpoint finished (replay from 0), streamed.
  let t = performance.now();
  const reopened = new WriteAheadLog(path, 0);
  let records = 0;
  let samples = 0;
  for (const rec of reopened.takeUnapplied()) {
    records++;
    samples += rec.cmd.samples.length;
  }
  reopened.close();
  out.recovery = { ok: records === n && samples === n * opts.batch, ms: performance.now() - t, records, streamed: true };
  // The cut: slices of 256 records with a turn of the event loop between; the longest gap between
  // turns (a setImmediate chain running beside it) is what ingest waits for.
  let longest = 0;
  let running = true;
  t = performance.now();
  let last = t;
  const turn = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(turn);
  };
  setImmediate(turn);
  await wal.dropThrough(r.mark);
  running = false;
  out.cut = { keptRecords: n - markAt, ms: performance.now() - t, longestMs: longest, bytesAfter: sizeOf(...files) };
  wal.close();
  for (const f of files) rmSync(f, { force: true });
  return out;
}

/** The JSON-lines log the repo used before SQLite: one appendFileSync per record, the cut copies the tail. */
function benchJsonl(dir, pool, opts) {
  const path = join(dir, 'wal.jsonl');
  const n = opts.records;
  const markAt = Math.round(n * (1 - opts.keepFraction));
  let bytes = 0;
  const r = appendLoop(
    pool,
    n,
    markAt,
    (seq, cmd) => {
      const line = `${JSON.stringify({ seq, cmd })}\n`;
      appendFileSync(path, line);
      bytes += Buffer.byteLength(line);
    },
    () => ({ bytes }),
  );
  const out = appendFigures(n, opts.batch, r.seconds, r.lat);
  out.bytes = sizeOf(path);
  let t = performance.now();
  let records = 0;
  let samples = 0;
  for (const { line, complete } of linesSync(path)) {
    if (!complete) break;
    samples += JSON.parse(line).cmd.samples.length;
    records++;
  }
  out.recovery = { ok: records === n && samples === n * opts.batch, ms: performance.now() - t, records, streamed: true };
  t = performance.now();
  const tailBytes = bytes - r.mark.bytes;
  const tail = Buffer.allocUnsafe(tailBytes);
  const fd = openSync(path, 'r');
  let read = 0;
  while (read < tailBytes) read += readSync(fd, tail, read, tailBytes - read, r.mark.bytes + read);
  closeSync(fd);
  writeFileSync(`${path}.tmp`, tail);
  renameSync(`${path}.tmp`, path);
  const cutMs = performance.now() - t;
  out.cut = { keptRecords: n - markAt, ms: cutMs, longestMs: cutMs, bytesAfter: sizeOf(path) };
  rmSync(path, { force: true });
  return out;
}

function benchLmdb(open, dir, pool, opts) {
  const path = join(dir, 'wal.mdb');
  const files = [path, `${path}-lock`];
  const n = opts.records;
  const db = open({ path, noSync: true, compression: false });
  try {
    const markAt = Math.round(n * (1 - opts.keepFraction));
    const r = appendLoop(
      pool,
      n,
      markAt,
      (seq, cmd) => db.putSync(seq, cmd),
      () => ({ seq: markAt }),
    );
    const out = appendFigures(n, opts.batch, r.seconds, r.lat);
    out.bytes = sizeOf(...files);
    let t = performance.now();
    let records = 0;
    let samples = 0;
    for (const { value } of db.getRange({ start: 1 })) {
      samples += value.samples.length;
      records++;
    }
    out.recovery = { ok: records === n && samples === n * opts.batch, ms: performance.now() - t, records, streamed: true };
    t = performance.now();
    db.transactionSync(() => {
      for (const key of db.getKeys({ end: r.mark.seq + 1 })) db.removeSync(key);
    });
    const cutMs = performance.now() - t;
    out.cut = { keptRecords: n - markAt, ms: cutMs, longestMs: cutMs, bytesAfter: sizeOf(...files) };
    return out;
  } finally {
    db.close();
    for (const f of files) rmSync(f, { force: true });
  }
}

function benchJsonlFdatasync(dir, pool, opts) {
  const path = join(dir, 'wal-fdatasync.jsonl');
  const n = Math.min(opts.records, opts.syncRecords);
  const fd = openSync(path, 'a');
  try {
    const r = appendLoop(
      pool,
      n,
      n,
      (seq, cmd) => {
        const buf = Buffer.from(`${JSON.stringify({ seq, cmd })}\n`);
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
        fdatasyncSync(fd);
      },
      () => undefined,
    );
    const out = appendFigures(n, opts.batch, r.seconds, r.lat);
    out.bytes = sizeOf(path);
    return out;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

function benchSerialize(pool, opts) {
  const n = opts.records;
  let bytes = 0;
  const r = appendLoop(
    pool,
    n,
    n,
    (seq, cmd) => {
      bytes += `${JSON.stringify({ seq, cmd })}\n`.length;
    },
    () => undefined,
  );
  const out = appendFigures(n, opts.batch, r.seconds, r.lat);
  out.bytes = bytes;
  return out;
}

function benchSqlite(Database, dir, pool, opts, synchronous) {
  const path = join(dir, `wal-${synchronous.toLowerCase()}.sqlite`);
  const files = [path, `${path}-wal`, `${path}-shm`];
  const n = synchronous === 'NORMAL' ? opts.records : Math.min(opts.records, opts.syncRecords);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec('CREATE TABLE IF NOT EXISTS wal (seq INTEGER PRIMARY KEY, cmd TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO wal (seq, cmd) VALUES (?, ?)');
    const markAt = Math.round(n * (1 - opts.keepFraction));
    const r = appendLoop(
      pool,
      n,
      markAt,
      (seq, cmd) => insert.run(seq, JSON.stringify(cmd)),
      () => ({ seq: markAt }),
    );
    const out = appendFigures(n, opts.batch, r.seconds, r.lat);
    out.bytes = sizeOf(...files);
    out.pageSize = db.pragma('page_size', { simple: true });
    // Recovery from a second connection: every record after seq 0, parsed and dropped one by one
    // (streamed: the JSONL class instead keeps every record it reads).
    let t = performance.now();
    {
      const reader = new Database(path, { readonly: true });
      let records = 0;
      let samples = 0;
      for (const row of reader.prepare('SELECT seq, cmd FROM wal WHERE seq > ? ORDER BY seq').iterate(0)) {
        samples += JSON.parse(row.cmd).samples.length;
        records++;
      }
      reader.close();
      out.recovery = { ok: records === n && samples === n * opts.batch, ms: performance.now() - t, records, streamed: true };
    }
    t = performance.now();
    db.prepare('DELETE FROM wal WHERE seq <= ?').run(r.mark.seq);
    const cutMs = performance.now() - t;
    const bytesAfterDelete = sizeOf(...files);
    t = performance.now();
    db.pragma('wal_checkpoint(TRUNCATE)');
    out.cut = {
      keptRecords: n - markAt,
      ms: cutMs,
      bytesAfter: bytesAfterDelete,
      walCheckpointTruncateMs: performance.now() - t,
      bytesAfterWalCheckpoint: sizeOf(...files),
      // Freed pages stay in the file (reused by later inserts) unless the database is vacuumed.
      freelistPages: db.pragma('freelist_count', { simple: true }),
    };
    return out;
  } finally {
    db.close();
    for (const f of files) rmSync(f, { force: true });
  }
}

/** A store's module: from --store-module's scratch directory when given, else from the repo's own dependencies. */
function requireFrom(storeModule) {
  return createRequire(join(resolve(storeModule ?? join(repoRoot, 'node_modules')), '..', 'package.json'));
}

function loadSqlite(storeModule) {
  try {
    const Database = requireFrom(storeModule)('better-sqlite3');
    const probe = new Database(':memory:');
    const version = probe.prepare('SELECT sqlite_version() AS v').get().v;
    probe.close();
    return { Database, version: `SQLite ${version}` };
  } catch (e) {
    return { error: `cannot load better-sqlite3: ${e.message}` };
  }
}

function loadLmdb(storeModule) {
  if (!storeModule) return { error: 'no --store-module with lmdb given' };
  try {
    return { open: requireFrom(storeModule)('lmdb').open };
  } catch (e) {
    return { error: `cannot load lmdb from ${storeModule}: ${e.message}` };
  }
}

// ---------------------------------------------------------------------------------------------

const fmt = (x, d = 0) => (x === undefined ? '' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const mb = (b) => (b === undefined ? '' : `${fmt(b / 1048576, 1)} MB`);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'wal-store-bench-'));
  const ownDir = opts.dir === undefined;
  const pool = makePool(opts.batch, 64);
  const sqlite = loadSqlite(undefined);
  const lmdb = opts.stores.includes('lmdb') ? loadLmdb(opts.storeModule) : undefined;
  const recordBytes = Buffer.byteLength(`${JSON.stringify({ seq: 1, cmd: pool[0] })}\n`);
  console.log(`WAL store bench: ${fmt(opts.records)} records × ${opts.batch} samples (${fmt(recordBytes)} B/record as JSON) in ${dir}`);
  console.log(`node ${process.version}; ${sqlite?.version ?? `SQLite: ${sqlite?.error ?? 'not requested'}`}`);
  const results = {};
  try {
    for (const store of opts.stores) {
      process.stdout.write(`  ${store} ...`);
      let r;
      if (store === 'serialize-only') r = benchSerialize(pool, opts);
      else if (store === 'wal') r = await benchWal(dir, pool, opts);
      else if (store === 'jsonl') r = benchJsonl(dir, pool, opts);
      else if (store === 'lmdb') {
        if (!lmdb?.open) {
          console.log(` skipped (${lmdb?.error})`);
          continue;
        }
        r = benchLmdb(lmdb.open, dir, pool, opts);
      }
      else if (store === 'jsonl-fdatasync') r = benchJsonlFdatasync(dir, pool, opts);
      else if (store === 'sqlite-normal' || store === 'sqlite-full') {
        if (!sqlite?.Database) {
          console.log(' skipped');
          continue;
        }
        r = benchSqlite(sqlite.Database, dir, pool, opts, store === 'sqlite-normal' ? 'NORMAL' : 'FULL');
      } else throw new Error(`unknown store ${store}`);
      r.headroom = r.samplesPerSec / opts.ingestRate;
      results[store] = r;
      console.log(` ${fmt(r.seconds, 1)} s`);
    }
  } finally {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  }

  console.log('');
  const head = ['store', 'records', 'records/s', 'samples/s', `× ${fmt(opts.ingestRate / 1000)} k/s`, 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'on disk', 'recovery', 'cut', 'after cut'];
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    fmt(r.records),
    fmt(r.recordsPerSec),
    fmt(r.samplesPerSec),
    `${fmt(r.headroom, 1)}×`,
    fmt(r.p50Us),
    fmt(r.p99Us),
    fmt(r.p999Us),
    fmt(r.maxUs),
    name === 'serialize-only' ? `(${mb(r.bytes)})` : mb(r.bytes),
    r.recovery ? (r.recovery.ok ? `${fmt(r.recovery.ms)} ms` : `FAILED (${r.recovery.error.split(':')[0]})`) : '',
    r.cut ? `${fmt(r.cut.ms)} ms${r.cut.longestMs !== undefined && r.cut.longestMs < r.cut.ms / 2 ? ` (longest ${fmt(r.cut.longestMs, 1)})` : ''}` : '',
    r.cut ? mb(r.cut.bytesAfter) : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log('');
  console.log(
    `records/s and latency: JSON.stringify + the store's write, per record. × ${fmt(opts.ingestRate / 1000)} k/s: how many times --ingest-rate the store alone absorbs.`,
  );
  console.log(`cut: the checkpoint marked at ${fmt((1 - opts.keepFraction) * 100)} % of the records, everything up to it dropped (synchronous: ingest waits).`);
  for (const [name, r] of Object.entries(results)) {
    if (r.recovery && !r.recovery.ok) console.log(`${name} recovery failed: ${r.recovery.error}`);
    if (r.cut?.walCheckpointTruncateMs !== undefined) {
      console.log(
        `${name}: after the DELETE, wal_checkpoint(TRUNCATE) took ${fmt(r.cut.walCheckpointTruncateMs)} ms, ${mb(r.cut.bytesAfterWalCheckpoint)} on disk, ${fmt(r.cut.freelistPages)} free pages kept in the file`,
      );
    }
  }
  console.log(
    JSON.stringify({
      bench: 'wal-store',
      node: process.version,
      sqlite: sqlite?.version ?? null,
      records: opts.records,
      batch: opts.batch,
      recordBytes,
      ingestRate: opts.ingestRate,
      keepFraction: opts.keepFraction,
      results,
    }),
  );
}

main().catch((e) => {
  console.error(`wal-store-bench: ${e.message}`);
  process.exit(1);
});
