import { z } from 'zod';

/**
 * The `healthChecks` section: probes of infrastructure (TCP, TLS), components and APIs (HTTP, with
 * scripted steps) and data integrity (two numbers that must agree), each at its own interval.
 * Validated once at load; errors name the field (`healthChecks.probes.2.url: ...`).
 */

/** The name goes into metric names (`probe_<name>_failed_ratio`), so it is spelled like one. */
const probeName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _, starting with a letter (it becomes part of a metric name)');

const headers = z.record(z.string(), z.string());

/** A JSON path as dots and array indexes: `hits.total.value`, `data.0.count`. */
const jsonPath = z.string().regex(/^[^.]+(\.[^.]+)*$/, "dot-separated keys and indexes, e.g. 'hits.total.value'");

const httpStep = z.strictObject({
  url: z.string().url(),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  headers: headers.optional(),
  body: z.string().optional(),
  /** Accepted statuses; without it any 2xx or 3xx passes. */
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  /** The response body must contain this text. */
  bodyContains: z.string().min(1).optional(),
  /** A value the JSON body must hold at `path` (any value when `equals` is absent). */
  json: z.strictObject({ path: jsonPath, equals: z.union([z.string(), z.number(), z.boolean()]).optional() }).optional(),
  /** Values taken from this step's JSON body, usable as `${name}` in later steps' url, headers and body. */
  capture: z.record(z.string().regex(/^\w+$/, 'a capture name is letters, digits and _'), jsonPath).optional(),
});

const common = {
  name: probeName,
  stack: z.string().min(1),
  service: z.string().min(1),
  /** What the probe stands for; it is in every log line about the probe. Defaults from the kind. */
  layer: z.enum(['infrastructure', 'component', 'api', 'integrity']).optional(),
  intervalSeconds: z.number().positive().default(30),
  timeoutSeconds: z.number().positive().default(5),
};

const sqlQuery = z
  .strictObject({
    /** The first column of the first row is the number. */
    sql: z.string().min(1),
    /** A connection string in the file (no password, or a local trust setup)... */
    connection: z.string().startsWith('postgres').optional(),
    /** ...or the name of the environment variable that holds it: where a password belongs. */
    connectionEnv: z.string().min(1).optional(),
  })
  .refine((q) => (q.connection === undefined) !== (q.connectionEnv === undefined), {
    message: 'give exactly one of connection or connectionEnv (the environment variable holding the connection string)',
  });

const httpQuery = z.strictObject({ http: z.string().url(), path: jsonPath, headers: headers.optional() });

export const integrityQuerySchema = z.union([httpQuery, sqlQuery]);

const tcpProbe = z.strictObject({ ...common, kind: z.literal('tcp'), host: z.string().min(1), port: z.number().int().min(1).max(65535) });

const tlsProbe = z.strictObject({
  ...common,
  kind: z.literal('tls'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(443),
  /** SNI and the name the certificate must carry; defaults to host. */
  servername: z.string().optional(),
  /** PEM file of the CA to trust instead of the system's (a private CA, a self-signed certificate). */
  caFile: z.string().optional(),
  /** The handshake fails when the certificate expires within this many days. */
  minCertDays: z.number().nonnegative().optional(),
});

const httpProbe = z
  .strictObject({ ...common, kind: z.literal('http'), ...httpStep.partial({ url: true }).shape, steps: z.array(httpStep).min(1).optional() })
  .refine((p) => (p.url === undefined) !== (p.steps === undefined), {
    message: 'give either url (one request) or steps (a scripted check), not both',
    path: ['url'],
  });

const integrityProbe = z.strictObject({
  ...common,
  kind: z.literal('integrity'),
  left: integrityQuerySchema,
  right: integrityQuerySchema,
  /** Relative difference still counted as agreement (an index that lags by a few documents). */
  tolerance: z.number().min(0).max(1).default(0),
});

export const probeSchema = z
  .discriminatedUnion('kind', [tcpProbe, tlsProbe, httpProbe, integrityProbe])
  .refine((p) => p.timeoutSeconds <= p.intervalSeconds, {
    message: 'must not exceed intervalSeconds: a probe may not overlap its next run',
    path: ['timeoutSeconds'],
  })
  .refine((p) => p.layer === undefined || (p.kind === 'integrity') === (p.layer === 'integrity'), {
    message: 'integrity is the layer of integrity probes, and only theirs',
    path: ['layer'],
  });

export const healthChecksConfigSchema = z
  .strictObject({
    /** Probes in flight at once; the rest wait their turn (never more than one run per probe waits). */
    maxConcurrent: z.number().int().positive().default(4),
    probes: z.array(probeSchema).min(1),
  })
  .refine((c) => new Set(c.probes.map((p) => `${p.name}@${p.stack}/${p.service}`)).size === c.probes.length, {
    message: 'two probes with the same name on the same stack and service would write the same series',
    path: ['probes'],
  });

export type HealthChecksConfig = z.infer<typeof healthChecksConfigSchema>;
export type ProbeConfig = z.infer<typeof probeSchema>;
export type HttpStepConfig = z.infer<typeof httpStep>;
export type IntegrityQuery = z.infer<typeof integrityQuerySchema>;
export type Layer = NonNullable<ProbeConfig['layer']>;

/** The layer a probe stands for when the file does not say. */
export function layerOf(p: ProbeConfig): Layer {
  return p.layer ?? (p.kind === 'integrity' ? 'integrity' : p.kind === 'http' ? 'component' : 'infrastructure');
}
