import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedData } from './support/shared-data.js';
import { CsvHeaderError, parseSeriesCsv, parseTimestamp, splitCsvLine } from '../src/eval/csv-series.js';
import { alignGroup, dedupeRows, labelSegments, listMsCloudGroups, loadMsCloudGroup } from '../src/eval/ms-cloud.js';

const nab = sharedData('nab-dev', 'data', 'parsing the real NAB files');

describe('parseTimestamp', () => {
  it('reads NAB-style timestamps as UTC', () => {
    expect(parseTimestamp('2014-04-01 00:00:00')).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
    expect(parseTimestamp('"2018-07-03 14:00:00"')).toBe(Date.UTC(2018, 6, 3, 14));
  });

  it('reads ISO-8601 with and without zone, fractions, date-only', () => {
    expect(parseTimestamp('2018-04-25T00:01:00Z')).toBe(Date.UTC(2018, 3, 25, 0, 1));
    expect(parseTimestamp('2018-04-25T02:01:00+02:00')).toBe(Date.UTC(2018, 3, 25, 0, 1));
    expect(parseTimestamp('2018-04-24T19:01:00-0500')).toBe(Date.UTC(2018, 3, 25, 0, 1));
    expect(parseTimestamp('2018-04-25T00:01:00.5Z')).toBe(Date.UTC(2018, 3, 25, 0, 1, 0, 500));
    expect(parseTimestamp('2018-04-25T00:01:00.123456')).toBe(Date.UTC(2018, 3, 25, 0, 1, 0, 123));
    expect(parseTimestamp('2018-04-25T00:01')).toBe(Date.UTC(2018, 3, 25, 0, 1));
    expect(parseTimestamp('2018-04-25')).toBe(Date.UTC(2018, 3, 25));
    expect(parseTimestamp('2018/04/25 10:00:00')).toBe(Date.UTC(2018, 3, 25, 10));
  });

  it('reads epoch numbers: > 1e11 as ms, otherwise seconds', () => {
    expect(parseTimestamp('1396310400')).toBe(1396310400000);
    expect(parseTimestamp('1396310400000')).toBe(1396310400000);
    expect(parseTimestamp('1396310400.25')).toBe(1396310400250);
    expect(parseTimestamp('0')).toBe(0);
  });

  it('rejects impossible or malformed times', () => {
    for (const bad of [
      '',
      'abc',
      '2014-02-30 00:00:00',
      '2014-13-01',
      '2014-01-01 24:00:00',
      '2014-01-01 10:60:00',
      '2014-01-01T10:00:00+25:00',
      '1e400',
      'NaN',
      'Infinity',
      '0x10',
      '2014-01-01 10:00:00 junk',
    ])
      expect(parseTimestamp(bad), bad).toBeUndefined();
    expect(parseTimestamp('2016-02-29')).toBe(Date.UTC(2016, 1, 29));
  });
});

describe('splitCsvLine', () => {
  it('handles quotes, escaped quotes and spaces', () => {
    expect(splitCsvLine('"2018-04-25T00:00:00Z",1678991.5,0')).toEqual(['2018-04-25T00:00:00Z', '1678991.5', '0']);
    expect(splitCsvLine(' a , "b,""c""" ,d')).toEqual(['a', 'b,"c"', 'd']);
    expect(splitCsvLine('a,,')).toEqual(['a', '', '']);
    expect(splitCsvLine('"open,1')).toBeUndefined();
    expect(splitCsvLine('"a"x,1')).toBeUndefined();
  });
});

describe('parseSeriesCsv', () => {
  it('parses NAB files (timestamp,value)', () => {
    const r = parseSeriesCsv('timestamp,value\n2014-04-01 00:00:00,18.32\n2014-04-01 00:05:00,21.97\n');
    expect(r.timestampColumn).toBe('timestamp');
    expect(r.valueColumn).toBe('value');
    expect(r.rejects).toEqual([]);
    expect(r.rows).toEqual([
      { ts: Date.UTC(2014, 3, 1), value: 18.32 },
      { ts: Date.UTC(2014, 3, 1, 0, 5), value: 21.97 },
    ]);
  });

  it('parses Microsoft cloud files (quoted TimeStamp,Value,Label), CRLF and BOM', () => {
    const text = '\ufeffTimeStamp,Value,Label\r\n"2018-04-25T00:00:00Z","6034.7","0"\r\n"2018-04-25T00:01:00Z",6259.9,1\r\n';
    const r = parseSeriesCsv(text);
    expect(r.timestampColumn).toBe('TimeStamp');
    expect(r.valueColumn).toBe('Value');
    expect(r.labelColumn).toBe('Label');
    expect(r.rows).toEqual([
      { ts: Date.UTC(2018, 3, 25), value: 6034.7, label: 0 },
      { ts: Date.UTC(2018, 3, 25, 0, 1), value: 6259.9, label: 1 },
    ]);
  });

  it('picks the first numeric column when there is no "value" column', () => {
    const r = parseSeriesCsv('host,time,region,cpu\nweb-1,1396310400,eu,0.5\nweb-1,1396310460,eu,0.7\n');
    expect(r.timestampColumn).toBe('time');
    expect(r.valueColumn).toBe('cpu');
    expect(r.rows.map((x) => x.value)).toEqual([0.5, 0.7]);
  });

  it('accepts ts / date headers, tab and semicolon delimiters', () => {
    expect(parseSeriesCsv('ts\tvalue\n1396310400000\t1\n').rows).toEqual([{ ts: 1396310400000, value: 1 }]);
    expect(parseSeriesCsv('Date;Value\n2014-04-01;2\n').rows).toEqual([{ ts: Date.UTC(2014, 3, 1), value: 2 }]);
  });

  it('rejects bad rows with their line number and a reason, and keeps the good ones', () => {
    const text = [
      'timestamp,value,label', // 1
      '2014-04-01 00:00:00,1,0', // 2 ok
      'not-a-time,2,0', // 3 bad time
      '', // 4 blank: skipped
      '2014-04-01 00:10:00,NaN,0', // 5 bad value
      '2014-04-01 00:15:00,4', // 6 wrong column count
      '2014-04-01 00:20:00,1e999,0', // 7 non-finite
      '2014-04-01 00:25:00,"6,0', // 8 bad quoting
      '2014-04-01 00:30:00,7,maybe', // 9 bad label
      '2014-04-01 00:35:00,,0', // 10 empty value
      '2014-04-01 00:40:00,8,', // 11 ok, empty label
    ].join('\n');
    const r = parseSeriesCsv(text);
    expect(r.rows).toEqual([
      { ts: Date.UTC(2014, 3, 1), value: 1, label: 0 },
      { ts: Date.UTC(2014, 3, 1, 0, 40), value: 8 },
    ]);
    expect(r.rejects.map((x) => x.line)).toEqual([3, 5, 6, 7, 8, 9, 10]);
    expect(r.rejects[0]!.reason).toMatch(/timestamp/);
    expect(r.rejects[1]!.reason).toMatch(/value/);
    expect(r.rejects[2]!.reason).toMatch(/expected 3 columns, got 2/);
    expect(r.rejects[0]!.raw).toBe('not-a-time,2,0');
    // with allowMissingValue an empty cell is a NaN sample instead of a reject
    const m = parseSeriesCsv(text, { allowMissingValue: true });
    expect(m.rows.find((x) => x.ts === Date.UTC(2014, 3, 1, 0, 35))!.value).toBeNaN();
    expect(m.rejects.map((x) => x.line)).toEqual([3, 5, 6, 7, 8, 9]);
  });

  it('throws a clear CsvHeaderError only for header problems', () => {
    expect(() => parseSeriesCsv('')).toThrow(CsvHeaderError);
    expect(() => parseSeriesCsv('\n\n  \n')).toThrow(/empty/);
    expect(() => parseSeriesCsv('when,value\n1,2\n')).toThrow(/no timestamp column.*when, value/);
    expect(() => parseSeriesCsv('timestamp\n1\n')).toThrow(/no value column/);
    expect(() => parseSeriesCsv('timestamp,label\n1,0\n')).toThrow(CsvHeaderError);
    expect(() => parseSeriesCsv('"timestamp,value\n')).toThrow(/malformed/);
    expect(() => parseSeriesCsv('timestamp,value\n', { valueColumn: 'cpu' })).toThrow(/cpu/);
    expect(parseSeriesCsv('timestamp,value\n').rows).toEqual([]);
  });

  it('property: arbitrary text never throws anything but CsvHeaderError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        try {
          parseSeriesCsv(text);
        } catch (e) {
          expect(e).toBeInstanceOf(CsvHeaderError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: under a valid header, any body never throws and every non-blank line is a row or a reject', () => {
    const cell = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('2014-04-01 00:00:00', '"2018-04-25T00:00:00Z"', '1e5', 'NaN', '""', '"', '1,5', '-0', '1396310400'),
      fc.double().map(String),
    );
    const line = fc.oneof(
      fc.array(cell, { minLength: 0, maxLength: 4 }).map((cs) => cs.join(',')),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.constantFrom('timestamp,value', 'TimeStamp,Value,Label', 'time,host,cpu'), fc.array(line, { maxLength: 20 }), (header, body) => {
        const text = [header, ...body].join('\n');
        const r = parseSeriesCsv(text);
        const nonBlank = text
          .split(/\r\n|\n|\r/)
          .slice(1)
          .filter((l) => l.trim() !== '').length;
        expect(r.rows.length + r.rejects.length).toBe(nonBlank);
        for (const row of r.rows) {
          expect(Number.isFinite(row.ts)).toBe(true);
          expect(Number.isFinite(row.value)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: generated rows round-trip through every timestamp format', () => {
    const second = 1000;
    const rowArb = fc.record({
      // seconds-aligned times between 1973 and 2096 (> 1e11 ms so epoch-ms stays unambiguous)
      ts: fc.integer({ min: 1e8 + 1, max: 4e9 }).map((s) => s * second),
      value: fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
      label: fc.option(fc.constantFrom(0, 1), { nil: undefined }),
    });
    const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
    const formats: Record<string, (ts: number) => string> = {
      nab: (ts) => {
        const d = new Date(ts);
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
      },
      isoZ: (ts) => `"${new Date(ts).toISOString()}"`,
      isoOffset: (ts) => new Date(ts + 5.5 * 3600_000).toISOString().replace('Z', '+05:30'),
      epochMs: (ts) => String(ts),
      epochS: (ts) => String(ts / 1000),
    };
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 30 }), fc.constantFrom(...Object.keys(formats)), fc.boolean(), (rows, fmt, withLabel) => {
        const f = formats[fmt]!;
        const header = withLabel ? 'timestamp,value,label' : 'timestamp,value';
        const lines = rows.map((r) => [f(r.ts), String(r.value), ...(withLabel ? [r.label === undefined ? '' : String(r.label)] : [])].join(','));
        const parsed = parseSeriesCsv([header, ...lines].join('\n'));
        expect(parsed.rejects).toEqual([]);
        expect(parsed.rows).toEqual(
          rows.map((r) => (withLabel && r.label !== undefined ? { ts: r.ts, value: r.value, label: r.label } : { ts: r.ts, value: r.value })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it.skipIf(nab.skip)('parses every real NAB file with zero rejects', () => {
    const NAB_DATA = join(nab.dir, 'data');
    let files = 0;
    for (const cat of readdirSync(NAB_DATA)) {
      for (const name of readdirSync(join(NAB_DATA, cat))) {
        const text = readFileSync(join(NAB_DATA, cat, name), 'utf8');
        const r = parseSeriesCsv(text);
        expect(r.rejects, `${cat}/${name}`).toEqual([]);
        expect(r.rows.length).toBe(text.trim().split('\n').length - 1);
        // non-decreasing (realAdExchange repeats a few timestamps, as in upstream NAB)
        let ordered = true;
        for (let i = 1; i < r.rows.length; i++) if (r.rows[i]!.ts < r.rows[i - 1]!.ts) ordered = false;
        expect(ordered).toBe(true);
        files++;
      }
    }
    expect(files).toBe(27);
  });
});

const msCloud = sharedData(join('ms-cloud-monitoring', 'data'), 'middle-tier-api-dependency-latency', 'the ms-cloud loader');

describe.skipIf(msCloud.skip)('ms-cloud loader', () => {
  it('lists the groups', () => {
    expect(listMsCloudGroups()).toEqual(expect.arrayContaining(['middle-tier-api-dependency-latency', 'data-ingress-rate', 'mongodb-application-rps']));
  });

  it('loads middle-tier-api-dependency-latency: 23 aligned hourly series with notes and labels', () => {
    const g = loadMsCloudGroup('middle-tier-api-dependency-latency');
    expect(g.series.length).toBe(23);
    expect(g.series[0]!.name).toBe('outbound-01');
    expect(g.series[0]!.notes).toMatch(/overall latency/);
    for (const s of g.series) {
      expect(s.rejects).toBe(0);
      expect(s.rows.length).toBe(720);
    }
    const a = alignGroup(g.series);
    expect(a.timestamps.length).toBe(720);
    expect(a.timestamps[1]! - a.timestamps[0]!).toBe(3600_000);
    // the global event: 06-21 05:00 labelled on the overall series and 17 dependencies
    const i = a.timestamps.indexOf(Date.UTC(2018, 5, 21, 5));
    const labelled = a.names.filter((_, s) => a.labels[s]![i] === 1);
    expect(labelled.length).toBe(18); // the overall (outbound-01) + 17 of the 22 dependencies
    expect(labelled).toContain('outbound-01');
    expect(labelled).not.toContain('outbound-02');
    // a single-dependency event: 06-28 09:00 only on outbound-02
    const j = a.timestamps.indexOf(Date.UTC(2018, 5, 28, 9));
    expect(a.names.filter((_, s) => a.labels[s]![j] === 1)).toEqual(['outbound-02']);
    expect(labelSegments(g.series.find((s) => s.name === 'outbound-16')!.rows)).toEqual([]);
  });

  it('drops duplicate rows, keeps empty values as NaN, aligns with NaN where missing', () => {
    const g = loadMsCloudGroup('application-crash-rate-1');
    const s4 = g.series.find((s) => s.name === 'app1-04')!;
    expect(s4.duplicatesDropped).toBeGreaterThan(0);
    expect(s4.rejects).toBe(0);
    expect(s4.rows.filter((r) => Number.isNaN(r.value)).length).toBe(5);
    const a = alignGroup(g.series);
    const k = a.names.indexOf('app1-01'); // starts 07-03 14:00, later than the others
    expect(Number.isNaN(a.values[k]![0]!)).toBe(true);
    expect(
      dedupeRows([
        { ts: 2, value: NaN, label: 0 },
        { ts: 1, value: 1, label: 0 },
        { ts: 2, value: 5, label: 1 },
      ]),
    ).toEqual({
      rows: [
        { ts: 1, value: 1, label: 0 },
        { ts: 2, value: 5, label: 1 },
      ],
      dropped: 1,
    });
  });

  it('labelSegments finds runs', () => {
    const rows = [0, 1, 1, 0, 1].map((label, ts) => ({ ts, label }));
    expect(labelSegments(rows)).toEqual([
      [1, 2],
      [4, 4],
    ]);
  });
});
