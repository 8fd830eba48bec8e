/**
 * Minimal protobuf codec for Prometheus remote-write 1.0 `prometheus.WriteRequest`
 * (prometheus/prompb remote.proto + types.proto):
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
 *                  repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in ms
 *
 * Metadata, exemplars, histograms and any unknown fields are skipped. Groups, invalid
 * wire types, truncated data and invalid UTF-8 are rejected with {@link RemoteWriteError}.
 */
import { RemoteWriteError, snappyUncompress } from './snappy.js';
import { Reader, WT_I64, WT_LEN, WT_VARINT, wrongType } from './protobuf-reader.js';

export { RemoteWriteError } from './snappy.js';

export interface Label {
  name: string;
  value: string;
}
export interface Sample {
  value: number;
  /** Milliseconds since epoch (int64 on the wire; exact within ±2^53). */
  timestamp: number;
}
export interface TimeSeries {
  labels: Label[];
  samples: Sample[];
}
export interface WriteRequest {
  timeseries: TimeSeries[];
}

function decodeLabel(r: Reader): Label {
  let name = '';
  let value = '';
  while (r.pos < r.end) {
    const t = r.tag('Label');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1) {
      if (wt !== WT_LEN) throw wrongType('Label', field, wt);
      name = r.string('Label.name');
    } else if (field === 2) {
      if (wt !== WT_LEN) throw wrongType('Label', field, wt);
      value = r.string('Label.value');
    } else {
      r.skip(wt, field, 'Label');
    }
  }
  return { name, value };
}

function decodeSample(r: Reader): Sample {
  let value = 0;
  let timestamp = 0;
  while (r.pos < r.end) {
    const t = r.tag('Sample');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1) {
      if (wt !== WT_I64) throw wrongType('Sample', field, wt);
      value = r.double('Sample.value');
    } else if (field === 2) {
      if (wt !== WT_VARINT) throw wrongType('Sample', field, wt);
      timestamp = r.int64('Sample.timestamp');
    } else {
      r.skip(wt, field, 'Sample');
    }
  }
  return { value, timestamp };
}

function decodeTimeSeries(r: Reader): TimeSeries {
  const labels: Label[] = [];
  const samples: Sample[] = [];
  while (r.pos < r.end) {
    const t = r.tag('TimeSeries');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1 || field === 2) {
      if (wt !== WT_LEN) throw wrongType('TimeSeries', field, wt);
      const subEnd = r.delimitedEnd(field === 1 ? 'Label' : 'Sample');
      const outerEnd = r.end;
      r.end = subEnd; // bound reads to the embedded message (no per-message allocation)
      if (field === 1) labels.push(decodeLabel(r));
      else samples.push(decodeSample(r));
      r.end = outerEnd;
    } else {
      r.skip(wt, field, 'TimeSeries'); // exemplars (3), histograms (4), unknown
    }
  }
  return { labels, samples };
}

/** What one request may decode to: a small body of empty series must not become millions of objects. */
export interface DecodeLimits {
  maxSeries: number;
  maxSamples: number;
}

const UNLIMITED: DecodeLimits = { maxSeries: Number.POSITIVE_INFINITY, maxSamples: Number.POSITIVE_INFINITY };

/** Decodes a (decompressed) protobuf `prometheus.WriteRequest`, refusing one past `limits` as it goes. */
export function decodeWriteRequest(buf: Uint8Array, limits: DecodeLimits = UNLIMITED): WriteRequest {
  const r = new Reader(buf, 0, buf.length);
  const timeseries: TimeSeries[] = [];
  let samples = 0;
  while (r.pos < r.end) {
    if (timeseries.length >= limits.maxSeries)
      throw new RemoteWriteError(`more than ${limits.maxSeries} series in one request (limits.remoteWriteMaxSeries): lower max_samples_per_send`);
    const t = r.tag('WriteRequest');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1) {
      if (wt !== WT_LEN) throw wrongType('WriteRequest', field, wt);
      const subEnd = r.delimitedEnd('TimeSeries');
      r.end = subEnd;
      const ts = decodeTimeSeries(r);
      samples += ts.samples.length;
      if (samples > limits.maxSamples)
        throw new RemoteWriteError(`more than ${limits.maxSamples} samples in one request (limits.remoteWriteMaxSamples): lower max_samples_per_send`);
      timeseries.push(ts);
      r.end = buf.length;
    } else {
      r.skip(wt, field, 'WriteRequest'); // metadata (3), unknown
    }
  }
  return { timeseries };
}

/** Snappy-block-decompresses then decodes a remote-write 1.0 request body. */
export function parseRemoteWrite(body: Uint8Array, opts: { maxDecompressedBytes: number } & Partial<DecodeLimits>): WriteRequest {
  return decodeWriteRequest(snappyUncompress(body, opts.maxDecompressedBytes), { ...UNLIMITED, ...opts });
}

// ---------------------------------------------------------------------------
// Stale markers
// ---------------------------------------------------------------------------

const staleScratch = new DataView(new ArrayBuffer(8));

/** Prometheus' staleness marker: the NaN with bit pattern 0x7ff0000000000002. */
export const STALE_NAN: number = (() => {
  staleScratch.setUint32(0, 0x7ff00000);
  staleScratch.setUint32(4, 0x00000002);
  return staleScratch.getFloat64(0);
})();

/** True only for the exact stale-NaN bit pattern (ordinary NaN is not a stale marker). */
export function isStaleMarker(value: number): boolean {
  if (value === value) return false; // fast path: not NaN
  staleScratch.setFloat64(0, value);
  return staleScratch.getUint32(0) === 0x7ff00000 && staleScratch.getUint32(4) === 0x00000002;
}

export { encodeWriteRequest } from './write-request-encoder.js';
