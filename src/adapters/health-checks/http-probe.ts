import type { HttpStepConfig, ProbeConfig } from './config.js';
import { fail, reasonOf, type ProbeResult, type ProbeRun } from './probe-result.js';

type HttpProbe = Extract<ProbeConfig, { kind: 'http' }>;

/** The value at `a.b.0.c` in a parsed JSON document; undefined when any step is missing. */
export function atPath(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** `${name}` replaced by a value captured earlier; an unknown name fails the step rather than send a literal `${...}`. */
function fill(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const v = vars.get(name);
    if (v === undefined) throw new Error(`\${${name}} was not captured by an earlier step`);
    return v;
  });
}

/** One request and its expectations; captures go into `vars`. Undefined when it passed. */
async function runStep(step: HttpStepConfig, vars: Map<string, string>, signal: AbortSignal): Promise<string | undefined> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.headers ?? {})) headers[k] = fill(v, vars);
  const res = await fetch(fill(step.url, vars), {
    method: step.method,
    headers,
    ...(step.body !== undefined ? { body: fill(step.body, vars) } : {}),
    signal,
  });
  const text = await res.text();
  const accepted = step.expectStatus === undefined ? res.status >= 200 && res.status < 400 : step.expectStatus.includes(res.status);
  if (!accepted) return `HTTP ${res.status}${step.expectStatus !== undefined ? ` (expected ${step.expectStatus.join(' or ')})` : ''}`;
  if (step.bodyContains !== undefined && !text.includes(step.bodyContains)) return `body does not contain ${JSON.stringify(step.bodyContains)}`;
  if (step.json === undefined && step.capture === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (step.json !== undefined) {
    const v = atPath(doc, step.json.path);
    if (v === undefined) return `no value at ${step.json.path}`;
    if (step.json.equals !== undefined && v !== step.json.equals)
      return `${step.json.path} is ${JSON.stringify(v)}, expected ${JSON.stringify(step.json.equals)}`;
  }
  for (const [name, path] of Object.entries(step.capture ?? {})) {
    const v = atPath(doc, path);
    if (v === undefined || (v !== null && typeof v === 'object')) return `capture ${name}: no scalar at ${path}`;
    vars.set(name, String(v));
  }
  return undefined;
}

/**
 * Components and APIs: one request (status, optional body text or JSON value), or a scripted
 * check (`steps`) where a later step uses what an earlier one captured (log in, then read with
 * the session; create, then fetch by id). The first step that fails fails the probe, and says which.
 */
export function httpProbe(p: HttpProbe): ProbeRun {
  const { name: _n, stack: _s, service: _v, layer: _l, intervalSeconds: _i, timeoutSeconds: _t, kind: _k, steps, ...single } = p;
  const script: HttpStepConfig[] = steps ?? [{ ...single, url: single.url! }];
  return async (signal): Promise<ProbeResult> => {
    const vars = new Map<string, string>();
    for (const [i, step] of script.entries()) {
      let problem: string | undefined;
      try {
        problem = await runStep(step, vars, signal);
      } catch (e) {
        problem = reasonOf(e);
      }
      if (problem !== undefined) return fail(script.length > 1 ? `step ${i + 1}: ${problem}` : problem);
    }
    return { ok: true };
  };
}
