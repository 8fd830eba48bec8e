import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** One queued delivery as the outbox keeps it. */
export interface OutboxRow<P> {
  /** The caller's idempotency key (the webhook's recommendation id, a Slack item's uuid): unique while queued. */
  key: string;
  payload: P;
  /** Attempts made so far, kept across restarts so a bounded retry stays bounded. */
  attempts: number;
  /** Wall clock, ms, when it was accepted. */
  enqueuedAt: number;
}

/**
 * The durable half of a delivery stage: one SQLite file per target, a row per delivery that was
 * accepted and not yet settled (delivered, refused, given up on or dropped). A row is written
 * before `enqueue` returns and deleted when the delivery settles, so whatever is in the table
 * after a crash is exactly what still has to go out, in `seq` order.
 *
 * Why SQLite and not the JSON-lines file Slack used: the same reasons as the write-ahead log
 * (src/adapters/file/write-ahead-log.ts, README "Durability"): on a full disk an appended line
 * can be left half-written mid-file, and a reader stops there or must guess; SQLite refuses the
 * write (SQLITE_FULL) and keeps every committed row. Deleting a settled row is one statement, so
 * there is no compaction pass and no file that grows with every retry. It is already a
 * dependency. Journal mode WAL with `synchronous=NORMAL`: a commit survives SIGKILL.
 *
 * `receipts` is a small key → JSON table beside it for what a receiver answered and a later
 * delivery needs (Slack: where a recommendation's message lives, to update it after a restart).
 */
export class SqliteOutbox<P> {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, string, number]>;
  private readonly byKey: Database.Statement<[string], { key: string }>;
  private readonly setAttempts: Database.Statement<[number, string]>;
  private readonly remove: Database.Statement<[string]>;
  private readonly all: Database.Statement<[], { key: string; payload: string; attempts: number; enqueued_at: number }>;
  private readonly putReceipt: Database.Statement<[string, string]>;
  private readonly dropReceipt: Database.Statement<[string]>;
  private readonly allReceipts: Database.Statement<[], { key: string; value: string }>;

  /** Opens (or creates, with its directory) the outbox at `path`; `':memory:'` keeps it in memory (not durable). */
  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        enqueued_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS receipts (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.insert = this.db.prepare('INSERT INTO outbox (key, payload, enqueued_at) VALUES (?, ?, ?)');
    this.byKey = this.db.prepare('SELECT key FROM outbox WHERE key = ?');
    this.setAttempts = this.db.prepare('UPDATE outbox SET attempts = ? WHERE key = ?');
    this.remove = this.db.prepare('DELETE FROM outbox WHERE key = ?');
    this.all = this.db.prepare('SELECT key, payload, attempts, enqueued_at FROM outbox ORDER BY seq');
    this.putReceipt = this.db.prepare('INSERT INTO receipts (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.dropReceipt = this.db.prepare('DELETE FROM receipts WHERE key = ?');
    this.allReceipts = this.db.prepare('SELECT key, value FROM receipts');
  }

  /** Keeps a new delivery; throws (SQLITE_FULL, SQLITE_IOERR...) when it could not be kept. */
  add(row: OutboxRow<P>): void {
    if (this.byKey.get(row.key) !== undefined) return; // already queued under this key
    withCode(() => this.insert.run(row.key, JSON.stringify(row.payload), row.enqueuedAt));
    if (row.attempts > 0) this.attempted(row.key, row.attempts);
  }

  attempted(key: string, attempts: number): void {
    withCode(() => this.setAttempts.run(attempts, key));
  }

  settled(key: string): void {
    withCode(() => this.remove.run(key));
  }

  /** Everything queued, oldest first (what a restart sends). */
  pending(): OutboxRow<P>[] {
    return this.all.all().map((r) => ({ key: r.key, payload: JSON.parse(r.payload) as P, attempts: r.attempts, enqueuedAt: r.enqueued_at }));
  }

  receipts<V>(): Map<string, V> {
    return new Map(this.allReceipts.all().map((r) => [r.key, JSON.parse(r.value) as V]));
  }

  putReceiptOf(key: string, value: unknown): void {
    withCode(() => this.putReceipt.run(key, JSON.stringify(value)));
  }

  dropReceiptOf(key: string): void {
    withCode(() => this.dropReceipt.run(key));
  }

  /** Several writes as one commit (a legacy import). */
  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  get open(): boolean {
    return this.db.open;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** SQLite's message alone ("database or disk is full") hides the code operators search for. */
function withCode<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code !== undefined && !e.message.startsWith(e.code)) e.message = `${e.code}: ${e.message}`;
    throw e;
  }
}
