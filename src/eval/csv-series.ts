/**
 * Robust CSV time-series parser used by `harbinger score` and the evaluation loaders.
 *
 * Pure: no I/O. Never throws on bad data rows; they are returned in `rejects` with a 1-based line
 * number and a reason. The only error is {@link CsvHeaderError}, thrown when the input has no header
 * or the header lacks a usable timestamp / value column.
 *
 * Accepted shapes:
 * - header with a timestamp column (case-insensitive `timestamp`, `time`, `ts`, `date`, `datetime`),
 *   a value column (`value`, else the first other column that holds numbers) and an optional
 *   `label` column; fields may be double-quoted (`""` escapes a quote); delimiter `,` (or tab / `;`
 *   when the header has no comma);
 * - timestamps `2014-04-01 00:00:00` (UTC when no zone is given), ISO-8601 with or without a zone
 *   (`2018-04-25T00:00:00Z`, `...+02:00`, fractional seconds of any length, `/` date separators),
 *   date-only `2014-04-01`, or epoch numbers (> 1e11 → milliseconds, otherwise seconds).
 *
 * Row order is kept as given (no sorting or de-duplication: callers decide).
 */

export interface SeriesRow {
  /** Epoch milliseconds, UTC. */
  ts: number;
  value: number;
  /** Present only when the file has a label column and the cell is not empty. */
  label?: number;
}

export interface RejectedRow {
  /** 1-based physical line number in the input text. */
  line: number;
  reason: string;
  /** The raw line (truncated to 200 characters). */
  raw: string;
}

export interface ParsedSeries {
  rows: SeriesRow[];
  rejects: RejectedRow[];
  /** Header name (as written, unquoted and trimmed) of the timestamp column. */
  timestampColumn: string;
  /** Header name of the value column. */
  valueColumn: string;
  /** Header name of the label column, when there is one. */
  labelColumn?: string;
}

/** Thrown only when the header is missing or has no usable timestamp / value column. */
export class CsvHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvHeaderError';
  }
}

const TIMESTAMP_NAMES = ['timestamp', 'time', 'ts', 'date', 'datetime'] as const;
const LABEL_NAMES = ['label'] as const;
const MAX_RAW = 200;
/** Number of data lines inspected to find "the first numeric column" when there is no `value`. */
const VALUE_SNIFF_ROWS = 50;
/** ECMAScript Date range limit, in ms. */
const MAX_EPOCH_MS = 8.64e15;

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const ISO_RE = /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:(?:[Tt]|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/;

/** Parse a decimal number (no hex, no `Infinity`, no empty string); undefined when invalid or non-finite. */
export function parseDecimal(text: string): number | undefined {
  const s = text.trim();
  if (!NUMBER_RE.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function daysInMonth(year: number, month: number): number {
  // month 1..12; Date.UTC handles years >= 100 directly, use setUTCFullYear to stay safe for < 100.
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/**
 * Parse one timestamp cell to epoch ms (UTC), or undefined when it is not a timestamp.
 * Numbers are epoch values: > 1e11 → milliseconds, otherwise seconds.
 */
export function parseTimestamp(text: string): number | undefined {
  let s = text.trim();
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).trim();
  if (s.length === 0) return undefined;

  if (NUMBER_RE.test(s)) {
    const n = Number(s);
    if (!Number.isFinite(n)) return undefined;
    const ms = n > 1e11 ? Math.round(n) : Math.round(n * 1000);
    return Math.abs(ms) <= MAX_EPOCH_MS ? ms : undefined;
  }

  const m = ISO_RE.exec(s);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[3]);
  const day = Number(m[4]);
  const hour = m[5] === undefined ? 0 : Number(m[5]);
  const minute = m[6] === undefined ? 0 : Number(m[6]);
  const second = m[7] === undefined ? 0 : Number(m[7]);
  const frac = m[8];
  const ms = frac === undefined ? 0 : Number(`${frac}00`.slice(0, 3));
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;

  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  let t = d.getTime();

  const zone = m[9];
  if (zone !== undefined && /^[+-]/.test(zone)) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (zh > 23 || zm > 59) return undefined;
    t -= sign * (zh * 60 + zm) * 60_000;
  }
  return Number.isFinite(t) && Math.abs(t) <= MAX_EPOCH_MS ? t : undefined;
}

/**
 * Split one CSV line into fields (RFC 4180 quoting within a single line). Returns undefined for an
 * unterminated quote or characters after a closing quote. Fields are trimmed; quotes removed.
 */
export function splitCsvLine(line: string, delimiter = ','): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    // skip leading spaces (not the delimiter itself)
    while (i < n && (line[i] === ' ' || line[i] === '\t') && line[i] !== delimiter) i++;
    if (i < n && line[i] === '"') {
      i++;
      let field = '';
      let closed = false;
      while (i < n) {
        const c = line[i]!;
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (!closed) return undefined;
      while (i < n && (line[i] === ' ' || line[i] === '\t') && line[i] !== delimiter) i++;
      out.push(field.trim());
      if (i >= n) return out;
      if (line[i] !== delimiter) return undefined;
      i++;
    } else {
      const next = line.indexOf(delimiter, i);
      const end = next === -1 ? n : next;
      const field = line.slice(i, end);
      if (field.includes('"')) return undefined;
      out.push(field.trim());
      if (next === -1) return out;
      i = next + 1;
    }
  }
}

function truncate(s: string): string {
  return s.length > MAX_RAW ? `${s.slice(0, MAX_RAW)}…` : s;
}

function parseLabel(cell: string): number | undefined | null {
  // undefined → no label; null → invalid
  const s = cell.trim();
  if (s === '') return undefined;
  const lower = s.toLowerCase();
  if (lower === 'true') return 1;
  if (lower === 'false') return 0;
  const n = parseDecimal(s);
  return n === undefined ? null : n;
}

export interface ParseSeriesOptions {
  /** Force the timestamp column by header name (case-insensitive). */
  timestampColumn?: string;
  /** Force the value column by header name (case-insensitive). */
  valueColumn?: string;
  /**
   * Keep rows whose value cell is empty (a missing sample) with `value: NaN` instead of rejecting
   * them. Other non-numeric values are still rejected. Default false.
   */
  allowMissingValue?: boolean;
}

/** Parse CSV text into time-series rows; see the module comment for the accepted shapes. */
export function parseSeriesCsv(text: string, options: ParseSeriesOptions = {}): ParsedSeries {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = src.split(/\r\n|\n|\r/);

  let headerIdx = -1;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '') {
      headerIdx = i;
      break;
    }
  }
  if (headerIdx === -1) throw new CsvHeaderError('CSV input is empty: expected a header line such as "timestamp,value"');

  const headerLine = lines[headerIdx]!;
  const delimiter = headerLine.includes(',') ? ',' : headerLine.includes('\t') ? '\t' : headerLine.includes(';') ? ';' : ',';
  const header = splitCsvLine(headerLine, delimiter);
  if (header === undefined) throw new CsvHeaderError(`CSV header line ${headerIdx + 1} is malformed (unbalanced quotes): ${truncate(headerLine)}`);
  const names = header.map((h) => h.toLowerCase());

  const findByName = (wanted: string): number => names.indexOf(wanted.trim().toLowerCase());

  let tsCol = -1;
  if (options.timestampColumn !== undefined) {
    tsCol = findByName(options.timestampColumn);
    if (tsCol === -1) throw new CsvHeaderError(`CSV header has no column "${options.timestampColumn}" (columns: ${header.join(', ')})`);
  } else {
    for (const cand of TIMESTAMP_NAMES) {
      tsCol = names.indexOf(cand);
      if (tsCol !== -1) break;
    }
    if (tsCol === -1)
      throw new CsvHeaderError(`CSV header has no timestamp column (expected one of ${TIMESTAMP_NAMES.join(', ')}; got: ${header.join(', ') || '(nothing)'})`);
  }

  let labelCol = -1;
  for (const cand of LABEL_NAMES) {
    labelCol = names.indexOf(cand);
    if (labelCol !== -1) break;
  }
  if (labelCol === tsCol) labelCol = -1;

  let valueCol = -1;
  if (options.valueColumn !== undefined) {
    valueCol = findByName(options.valueColumn);
    if (valueCol === -1 || valueCol === tsCol)
      throw new CsvHeaderError(`CSV header has no usable value column "${options.valueColumn}" (columns: ${header.join(', ')})`);
    if (valueCol === labelCol) labelCol = -1;
  } else {
    valueCol = names.indexOf('value');
    if (valueCol === tsCol) valueCol = -1;
    if (valueCol === -1) {
      const candidates: number[] = [];
      for (let c = 0; c < names.length; c++) if (c !== tsCol && c !== labelCol) candidates.push(c);
      if (candidates.length === 0) throw new CsvHeaderError(`CSV header has no value column besides the timestamp (columns: ${header.join(', ')})`);
      // the first candidate holding a number in the first data lines; else the first candidate
      const numeric = new Set<number>();
      let sniffed = 0;
      for (let i = headerIdx + 1; i < lines.length && sniffed < VALUE_SNIFF_ROWS; i++) {
        const line = lines[i]!;
        if (line.trim() === '') continue;
        const fields = splitCsvLine(line, delimiter);
        if (fields === undefined || fields.length !== header.length) continue;
        sniffed++;
        for (const c of candidates) if (parseDecimal(fields[c]!) !== undefined) numeric.add(c);
      }
      valueCol = candidates.find((c) => numeric.has(c)) ?? candidates[0]!;
    }
  }

  const rows: SeriesRow[] = [];
  const rejects: RejectedRow[] = [];
  for (let i = headerIdx + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const lineNo = i + 1;
    const reject = (reason: string): void => {
      rejects.push({ line: lineNo, reason, raw: truncate(line) });
    };
    const fields = splitCsvLine(line, delimiter);
    if (fields === undefined) {
      reject('malformed quoting');
      continue;
    }
    if (fields.length !== header.length) {
      reject(`expected ${header.length} columns, got ${fields.length}`);
      continue;
    }
    const tsCell = fields[tsCol]!;
    const ts = parseTimestamp(tsCell);
    if (ts === undefined) {
      reject(`unparseable timestamp ${JSON.stringify(truncate(tsCell))}`);
      continue;
    }
    const valueCell = fields[valueCol]!;
    const value = options.allowMissingValue === true && valueCell === '' ? NaN : parseDecimal(valueCell);
    if (value === undefined) {
      reject(`non-finite value ${JSON.stringify(truncate(valueCell))}`);
      continue;
    }
    const row: SeriesRow = { ts, value };
    if (labelCol !== -1) {
      const label = parseLabel(fields[labelCol]!);
      if (label === null) {
        reject(`invalid label ${JSON.stringify(truncate(fields[labelCol]!))}`);
        continue;
      }
      if (label !== undefined) row.label = label;
    }
    rows.push(row);
  }

  const result: ParsedSeries = {
    rows,
    rejects,
    timestampColumn: header[tsCol]!,
    valueColumn: header[valueCol]!,
  };
  if (labelCol !== -1) result.labelColumn = header[labelCol]!;
  return result;
}
