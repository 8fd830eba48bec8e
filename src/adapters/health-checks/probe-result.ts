/**
 * What one run of a probe found. A failure carries its reason (logged when the probe's state
 * changes); an integrity probe that ran also carries the two numbers it compared.
 */
export type ProbeResult =
  | { ok: true; agreement?: { left: number; right: number } }
  | { ok: false; reason: string; agreement?: { left: number; right: number } };

/** One run of a probe. It should stop work when `signal` aborts; the prober does not wait for it anyway. */
export type ProbeRun = (signal: AbortSignal) => Promise<ProbeResult>;

export const fail = (reason: string): ProbeResult => ({ ok: false, reason });

/** An error as a reason, with anything that looks like credentials in a URL cut out. */
export function reasonOf(e: unknown, secrets: readonly string[] = []): string {
  let text = e instanceof Error ? e.message || e.name : String(e);
  for (const s of secrets) if (s.length > 0) text = text.split(s).join('[redacted]');
  return text.replace(/\/\/[^/@\s]*@/g, '//[redacted]@');
}
