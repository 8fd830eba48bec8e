import { existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { linesSync } from './line-reader.js';

/** One logged command: a sequence number and what to apply. */
export interface WalRecord<C> {
  seq: number;
  cmd: C;
}

/** Where the log stood when a checkpoint began: the checkpoint holds every record up to `seq`. */
export interface WalMark {
  seq: number;
}

/** Records per statement when reading back or cutting: bounded memory, and the event loop gets turns. */
const PAGE = 256;

/**
 * The write-ahead log of `serve`, an SQLite table: every command that changes state (a batch of
 * samples and events, an alert, a human's decision, a clock tick, a controller's answer) is
 * committed here before it is applied and before the request is answered; a checkpoint cuts it.
 * After a crash the commands since the last checkpoint are applied again, so the service reaches
 * the state, ids and decisions of one that never died.
 *
 * Why SQLite and not a hand-written log (measured, README "Durability"): a full disk is where a
 * log earns its keep, and there the JSON-lines log this replaced lost every record written after
 * the disk freed up (a half-written line stayed mid-file and recovery stopped at it), while SQLite
 * refused each write with SQLITE_FULL and kept all of them; its transactions leave no torn tail to
 * repair. Journal mode WAL with `synchronous=NORMAL`: a commit survives SIGKILL (it is in the
 * kernel's page cache), a power loss can lose the last commits (the checkpoint interval bounds it).
 */
export class WriteAheadLog<C> {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[number, string]>;
  private readonly after: Database.Statement<[number, number], { seq: number; cmd: string }>;
  private readonly cut: Database.Statement<[number, number]>;
  private seq: number;
  /** The first record a checkpoint does not hold, until `takeUnapplied` has handed them over. */
  private unappliedFrom: number | undefined;

  /**
   * Opens (or creates) the log at `path` (SQLite adds `-wal` and `-shm` beside it). `afterSeq`: the
   * last record the checkpoint on disk holds; the ones after it are kept for recovery. A JSON-lines
   * log left by an older version at `legacyJsonlPath` is moved in and removed.
   */
  constructor(path: string, afterSeq = 0, legacyJsonlPath?: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS wal (seq INTEGER PRIMARY KEY, cmd TEXT NOT NULL)');
    this.insert = this.db.prepare('INSERT INTO wal (seq, cmd) VALUES (?, ?)');
    this.after = this.db.prepare('SELECT seq, cmd FROM wal WHERE seq > ? ORDER BY seq LIMIT ?');
    this.cut = this.db.prepare('DELETE FROM wal WHERE seq IN (SELECT seq FROM wal WHERE seq <= ? ORDER BY seq LIMIT ?)');
    if (legacyJsonlPath !== undefined && existsSync(legacyJsonlPath)) this.importJsonl(legacyJsonlPath);
    const last = (this.db.prepare('SELECT max(seq) AS seq FROM wal').get() as { seq: number | null }).seq ?? 0;
    this.seq = Math.max(afterSeq, last);
    this.unappliedFrom = afterSeq;
  }

  /**
   * The records a checkpoint does not hold, in order, once (recovery applies them). Read a page at a
   * time: the log of a busy interval can be larger than memory would like as one array.
   */
  *takeUnapplied(): Generator<WalRecord<C>> {
    let from = this.unappliedFrom;
    this.unappliedFrom = undefined;
    if (from === undefined) return;
    for (;;) {
      const rows = this.after.all(from, PAGE);
      for (const row of rows) yield { seq: row.seq, cmd: JSON.parse(row.cmd) as C };
      if (rows.length < PAGE) return;
      from = rows[rows.length - 1]!.seq;
    }
  }

  /** Commits a command; returns its sequence number. Throws (SQLITE_FULL, SQLITE_IOERR...) when it could not be kept. */
  append(cmd: C): number {
    const seq = this.seq + 1;
    try {
      this.insert.run(seq, JSON.stringify(cmd));
    } catch (err) {
      // SQLite's message alone ("database or disk is full") hides the code operators search for.
      const e = err as Error & { code?: string };
      if (e.code !== undefined && !e.message.startsWith(e.code)) e.message = `${e.code}: ${e.message}`;
      throw e;
    }
    this.seq = seq;
    return seq;
  }

  /** The last sequence number appended (a checkpoint records it). */
  get position(): number {
    return this.seq;
  }

  /** Where the log stands now, for a checkpoint that will hold everything logged before it. */
  mark(): WalMark {
    return { seq: this.seq };
  }

  /**
   * A checkpoint taken at `mark` is on disk: the records it holds are deleted, a page per statement
   * with a turn of the event loop between (ingest goes on meanwhile; a busy interval's cut is
   * hundreds of milliseconds in one statement). Recovery skips them by sequence number anyway, so
   * a crash midway loses nothing. Freed pages stay in the file and are reused by later records.
   */
  async dropThrough(mark: WalMark): Promise<void> {
    while (this.cut.run(mark.seq, PAGE).changes === PAGE) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** An older version's JSON-lines log (`wal.jsonl`): its readable records, in one transaction, then the file is removed. */
  private importJsonl(path: string): void {
    const keep = this.db.prepare<[number, string]>('INSERT OR IGNORE INTO wal (seq, cmd) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const { line, complete } of linesSync(path)) {
        if (!complete) break; // a torn tail: never acknowledged
        try {
          const record = JSON.parse(line) as WalRecord<C>;
          keep.run(record.seq, JSON.stringify(record.cmd));
        } catch {
          // A half-written line mid-file (that format's disk-full defect): the records after it still count.
        }
      }
    })();
    rmSync(path);
  }
}
