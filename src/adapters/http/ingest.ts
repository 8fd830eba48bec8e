import { parseLine, parseRecord, type ParsedRecord } from '../../ingest/record-parser.js';
import { HttpError } from './http-error.js';

export interface IngestResult {
  records: ParsedRecord[];
  /** Why each refused record was refused: 1-based line (NDJSON) or position (JSON array). */
  errors: { index: number; reason: string }[];
}

/**
 * A body of records: a JSON array, a single JSON object, or NDJSON (one object per line).
 * Records without `type` take the endpoint's default; a typed record is taken on either endpoint,
 * so a recorded fixture (samples and events interleaved) can be streamed as it is. Without a
 * default (`/v1/ingest`), every NDJSON line goes through the very function replay parses a file's
 * lines with (`parseLine`), so a line is taken or refused, with the same reason, as replay would.
 * Per-record failures are collected, never thrown.
 */
export function parseIngestBody(body: Buffer, defaultType: 'sample' | 'event' | undefined): IngestResult {
  const raw = body.toString('utf8');
  const text = raw.trim();
  if (text === '') throw new HttpError(400, 'empty body: send a JSON array or NDJSON of records');
  // Every item carries the number a client can find it by: its line in NDJSON, its position in an array.
  const records: ParsedRecord[] = [];
  const errors: { index: number; reason: string }[] = [];
  const take = (at: number, r: ParsedRecord): void => {
    if (r.ok) records.push(r);
    else errors.push({ index: at, reason: r.reason });
  };
  const array = text.startsWith('[') ? jsonArray(text) : undefined;
  if (array !== undefined && (Array.isArray(array) || defaultType !== undefined)) {
    if (!Array.isArray(array)) throw new HttpError(400, `body starts with '[' but is not a JSON array: ${array.error}`);
    for (let i = 0; i < array.length; i++) take(i + 1, parseRecord(withDefaultType(array[i], defaultType)));
    return { records, errors };
  }
  // On /v1/ingest a body that is not one JSON array is lines, as replay reads them: a first line
  // that starts with '[' is refused on its own, and the lines after it are still taken.
  // Lines as the file reader splits them: on '\n', a trailing '\r' dropped; blank lines skipped.
  const lines = raw.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line.trim() === '') continue;
    if (defaultType === undefined) {
      take(i + 1, parseLine(line));
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      errors.push({ index: i + 1, reason: `invalid JSON: ${(e as Error).message}` });
      continue;
    }
    take(i + 1, parseRecord(withDefaultType(value, defaultType)));
  }
  return { records, errors };
}

/** An untyped object record becomes the endpoint's kind (`/v1/samples`, `/v1/events`); anything else is parsed as it is. */
function withDefaultType(item: unknown, defaultType: 'sample' | 'event' | undefined): unknown {
  if (defaultType === undefined || item === null || typeof item !== 'object' || Array.isArray(item)) return item;
  return (item as Record<string, unknown>)['type'] === undefined ? { ...(item as object), type: defaultType } : item;
}

/** The body as one JSON array, or why it is not one. */
function jsonArray(text: string): unknown[] | { error: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : { error: 'not an array' };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
