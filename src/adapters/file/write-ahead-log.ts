import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';

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

  /** Opens (or creates) the log; `afterSeq` is the last sequence number a checkpoint already holds. */
  constructor(
    private readonly path: string,
    afterSeq = 0,
  ) {
    this.seq = Math.max(afterSeq, this.repairTail());
    if (!existsSync(path)) writeFileSync(path, '');
  }

  /** The records after `afterSeq`, in order; a torn last line (a crash mid-append, never acknowledged) is ignored. */
  static read<C>(path: string, afterSeq: number): WalRecord<C>[] {
    if (!existsSync(path)) return [];
    const out: WalRecord<C>[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line === '') continue;
      let r: WalRecord<C>;
      try {
        r = JSON.parse(line) as WalRecord<C>;
      } catch {
        break;
      }
      if (r.seq > afterSeq) out.push(r);
    }
    return out;
  }

  /** Appends a command; returns its sequence number once the write returned. */
  append(cmd: C): number {
    const seq = this.seq + 1;
    // Opened per append (a batch of samples, a decision): no descriptor outlives the call.
    appendFileSync(this.path, `${JSON.stringify({ seq, cmd })}\n`);
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
  }

  /** Cuts a torn last line off (appending after it would bury it mid-file) and returns the last sequence number. */
  private repairTail(): number {
    if (!existsSync(this.path)) return 0;
    const text = readFileSync(this.path, 'utf8');
    let good = 0;
    let last = 0;
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      try {
        last = (JSON.parse(text.slice(start, nl)) as WalRecord<C>).seq;
      } catch {
        break;
      }
      good += Buffer.byteLength(text.slice(start, nl + 1));
      start = nl + 1;
    }
    if (good < Buffer.byteLength(text)) truncateSync(this.path, good);
    return last;
  }
}
