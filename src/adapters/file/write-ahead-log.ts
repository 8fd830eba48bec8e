import { appendFileSync, closeSync, existsSync, openSync, readSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { linesSync } from './line-reader.js';

/** One logged command: a sequence number and what to apply. */
export interface WalRecord<C> {
  seq: number;
  cmd: C;
}

/**
 * The write-ahead log of `serve`: every command that changes state (a batch of samples and
 * events, an alert, a human's decision, a clock tick, a controller's answer) is appended here,
 * (write(2), no fsync), before it is applied and before the request is answered; a checkpoint empties it.
 * After a crash (SIGKILL included: the data is in the kernel's page cache) the commands since the
 * last checkpoint are applied again, so the service reaches the state, ids and decisions of one
 * that never died. Not fsynced per command: a power loss can lose the last seconds (the checkpoint
 * interval bounds it).
 *
 * One JSON line per record. A hand-written format rather than an embedded database: it is one
 * append and one truncate, and a line-oriented log can be read and repaired with standard tools.
 */
export class WriteAheadLog<C> {
  private seq: number;
  /** Bytes in the file: where the next record starts. */
  private bytes: number;
  /** The records after the checkpoint found at open, until `takeUnapplied` hands them over. */
  private unapplied: WalRecord<C>[];

  /**
   * Opens (or creates) the log, reading it once: a torn last line (a crash mid-append, never
   * acknowledged) is cut off, since appending after it would bury it mid-file; the records after
   * `afterSeq` (what a checkpoint already holds) are kept for recovery.
   */
  constructor(
    private readonly path: string,
    afterSeq = 0,
  ) {
    const { records, validBytes, totalBytes } = WriteAheadLog.parse<C>(path);
    if (validBytes < totalBytes) truncateSync(path, validBytes);
    if (!existsSync(path)) writeFileSync(path, '');
    this.unapplied = records.filter((r) => r.seq > afterSeq);
    this.bytes = validBytes;
    this.seq = Math.max(afterSeq, records.length > 0 ? records[records.length - 1]!.seq : 0);
  }

  /** The records a checkpoint does not hold, in order, once (recovery applies them). */
  takeUnapplied(): WalRecord<C>[] {
    const out = this.unapplied;
    this.unapplied = [];
    return out;
  }

  private static parse<C>(path: string): { records: WalRecord<C>[]; validBytes: number; totalBytes: number } {
    if (!existsSync(path)) return { records: [], validBytes: 0, totalBytes: 0 };
    const records: WalRecord<C>[] = [];
    let validBytes = 0;
    let totalBytes = 0;
    let torn = false;
    // Line by line, never the whole log as one string (Node caps strings at 512 MiB: a busy
    // interval's log is larger, and a log that cannot be read back is no log).
    for (const { line, bytes, complete } of linesSync(path)) {
      totalBytes += bytes;
      if (torn) continue;
      if (!complete) {
        torn = true;
        continue;
      }
      try {
        records.push(JSON.parse(line) as WalRecord<C>);
        validBytes += bytes;
      } catch {
        torn = true;
      }
    }
    return { records, validBytes, totalBytes };
  }

  /** Appends a command; returns its sequence number once the write returned. */
  append(cmd: C): number {
    const seq = this.seq + 1;
    // Opened per append (a batch of samples, a decision): no descriptor outlives the call.
    const line = `${JSON.stringify({ seq, cmd })}\n`;
    appendFileSync(this.path, line);
    this.bytes += Buffer.byteLength(line);
    this.seq = seq;
    return seq;
  }

  /** The last sequence number appended (a checkpoint records it). */
  get position(): number {
    return this.seq;
  }

  /** A checkpoint now holds everything logged: start afresh (sequence numbers keep counting). */
  truncate(): void {
    truncateSync(this.path, 0);
    this.bytes = 0;
  }

  /** Where the log stands now, for a checkpoint that will hold everything logged before it. */
  mark(): { seq: number; bytes: number } {
    return { seq: this.seq, bytes: this.bytes };
  }

  /**
   * A checkpoint taken at `mark` is on disk: keep only what was logged since (a streamed checkpoint
   * takes a while, and the service kept logging). The tail is copied to a new file and renamed
   * over the log; a crash before the rename leaves records the checkpoint holds, which recovery
   * skips by sequence number.
   */
  dropThrough(mark: { bytes: number }): void {
    const tailBytes = this.bytes - mark.bytes;
    if (tailBytes <= 0) {
      this.truncate();
      return;
    }
    const tail = Buffer.allocUnsafe(tailBytes);
    const fd = openSync(this.path, 'r');
    try {
      let read = 0;
      while (read < tailBytes) {
        const n = readSync(fd, tail, read, tailBytes - read, mark.bytes + read);
        if (n === 0) break;
        read += n;
      }
    } finally {
      closeSync(fd);
    }
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, tail);
    renameSync(tmp, this.path);
    this.bytes = tailBytes;
  }
}
