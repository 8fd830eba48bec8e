import { parseRecord, type ParsedRecord } from '../../ingest/record-parser.js';
import { HttpError } from './http-error.js';

export interface IngestResult {
  records: ParsedRecord[];
  /** Why each refused record was refused: 1-based line (NDJSON) or position (JSON array). */
  errors: { index: number; reason: string }[];
}

/**
 * A body of records: a JSON array, a single JSON object, or NDJSON (one object per line).
 * Records without `type` take the endpoint's default; a typed record is taken on either endpoint,
 * so a recorded fixture (samples and events interleaved) can be streamed as it is. Per-record
 * failures are collected, never thrown.
 */
export function parseIngestBody(body: Buffer, defaultType: 'sample' | 'event'): IngestResult {
  const text = body.toString('utf8').trim();
  if (text === '') throw new HttpError(400, 'empty body: send a JSON array or NDJSON of records');
  // Every item carries the number a client can find it by: its line in NDJSON, its position in an array.
  let items: { at: number; value: unknown }[];
  const errors: { index: number; reason: string }[] = [];
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed)) throw new Error('not an array');
      items = parsed.map((value, i) => ({ at: i + 1, value }));
    } catch (e) {
      throw new HttpError(400, `body starts with '[' but is not a JSON array: ${(e as Error).message}`);
    }
  } else {
    items = [];
    text.split('\n').forEach((line, i) => {
      const l = line.trim();
      if (l === '') return;
      try {
        items.push({ at: i + 1, value: JSON.parse(l) });
      } catch (e) {
        errors.push({ index: i + 1, reason: `invalid JSON: ${(e as Error).message}` });
      }
    });
  }
  const records: ParsedRecord[] = [];
  for (const { at, value: item } of items) {
    const withType =
      item !== null && typeof item === 'object' && !Array.isArray(item) && (item as Record<string, unknown>)['type'] === undefined
        ? { ...(item as object), type: defaultType }
        : item;
    const r = parseRecord(withType);
    if (r.ok) records.push(r);
    else errors.push({ index: at, reason: r.reason });
  }
  errors.sort((a, b) => a.index - b.index);
  return { records, errors };
}
