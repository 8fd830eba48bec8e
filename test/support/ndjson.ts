import type { AxiosInstance } from 'axios';

/**
 * Streams recorded lines (samples and events interleaved, as fixtures are) to /v1/samples in
 * chunks of `chunk` lines, in order; throws on any answer but 200 so a test never runs on
 * half-accepted input.
 */
export async function postNdjson(http: AxiosInstance, lines: readonly string[], chunk = 5000): Promise<void> {
  for (let i = 0; i < lines.length; i += chunk) {
    const r = await http.post('/v1/samples', lines.slice(i, i + chunk).join('\n'), { headers: { 'content-type': 'application/x-ndjson' } });
    if (r.status !== 200) throw new Error(`POST /v1/samples answered ${r.status}: ${JSON.stringify(r.data).slice(0, 300)}`);
  }
}
