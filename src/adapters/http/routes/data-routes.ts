import type { ContextEvent, Sample } from '../../../domain/types.js';
import { alertmanagerPayloadSchema } from '../../alertmanager/webhook.js';
import { parseRemoteWrite, RemoteWriteError, type WriteRequest } from '../../remote-write/write-request.js';
import { readBody } from '../body.js';
import type { HttpOptions, HttpPort } from '../http-port.js';
import { HttpError } from '../http-error.js';
import { parseIngestBody } from '../ingest.js';
import type { ServiceMetrics } from '../metrics.js';
import { reasonCode } from '../reason-code.js';
import type { Handler, Route, RouteKit } from '../route-kit.js';

/** The data in: JSON samples and events, Alertmanager's webhook, Prometheus remote-write. */
export function dataRoutes(port: HttpPort, opts: HttpOptions, { json, authed }: RouteKit, metrics: ServiceMetrics): Route[] {
  // `defaultType`: what an untyped record is on /v1/samples and /v1/events; /v1/ingest has none (replay's rule: `type` is required).
  const ingest = (defaultType: 'sample' | 'event' | undefined): Handler =>
    authed('ingest', async (req, res) => {
      const body = await readBody(req, opts.bodyLimitBytes);
      const parsed = parseIngestBody(body, defaultType);
      for (const e of parsed.errors) metrics.rejected.inc({ source: 'http', reason: reasonCode(e.reason) });
      const samples: Sample[] = [];
      const events: ContextEvent[] = [];
      for (const r of parsed.records) {
        if (r.ok && r.kind === 'sample') samples.push(r.sample);
        else if (r.ok && r.kind === 'event') events.push(r.event);
      }
      const { accepted, late, future, limited } = await port.ingest(samples, events, 'http');
      const rejected = parsed.errors.slice(0, 100);
      // What the edge refused besides bad records: samples from the future, and new series past the limit.
      const ahead = {
        ...(future !== undefined
          ? { future: { ...future, reason: `stamped after ${future.limit}, ahead of this server's clock by more than it allows: check the sender's clock` } }
          : {}),
        ...(limited !== undefined ? { limited } : {}),
      };
      if (accepted === 0 && late === 0 && (parsed.errors.length > 0 || future !== undefined))
        return json(res, 400, { error: 'no valid record in the body', accepted, late, rejected, rejectedTotal: parsed.errors.length, ...ahead });
      json(res, 200, { accepted, late, rejected, rejectedTotal: parsed.errors.length, ...ahead });
    });

  return [
    { method: 'POST', path: /^\/v1\/samples$/, name: 'samples', handler: ingest('sample') },
    { method: 'POST', path: /^\/v1\/events$/, name: 'events', handler: ingest('event') },
    // Mixed sample and event lines in file order, exactly as replay reads them (a fixture streamed as it is).
    { method: 'POST', path: /^\/v1\/ingest$/, name: 'ingest', handler: ingest(undefined) },
    {
      method: 'POST',
      path: /^\/v1\/alertmanager$/,
      name: 'alertmanager',
      handler: authed(
        'ingest',
        async (req, res) => {
          const body = await readBody(req, opts.bodyLimitBytes);
          let raw: unknown;
          try {
            raw = JSON.parse(body.toString('utf8'));
          } catch (e) {
            throw new HttpError(400, `not JSON: ${(e as Error).message}`);
          }
          const parsed = alertmanagerPayloadSchema.safeParse(raw);
          if (!parsed.success)
            throw new HttpError(
              400,
              'not an Alertmanager version 4 webhook payload',
              parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
            );
          json(res, 200, await port.alertmanager(parsed.data));
        },
        true,
      ),
    },
    {
      method: 'POST',
      path: /^\/api\/v1\/write$/,
      name: 'remote_write',
      handler: authed(
        'ingest',
        async (req, res) => {
          const [type = '', ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim());
          if (type !== 'application/x-protobuf') throw new HttpError(415, `unsupported Content-Type '${type}': remote-write 1.0 sends application/x-protobuf`);
          // Remote-write 2.0 names its message (proto=io.prometheus.write.v2.Request): only 1.0 is read here, so say so (415 is what the spec asks for).
          const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length);
          if (proto !== undefined && proto !== 'prometheus.WriteRequest')
            throw new HttpError(
              415,
              `remote-write message '${proto}' is not supported: send remote-write 1.0 (protobuf_message: prometheus.WriteRequest in remote_write)`,
            );
          const enc = req.headers['content-encoding'];
          if (enc !== undefined && enc !== 'snappy') throw new HttpError(415, `unsupported Content-Encoding '${enc}': remote-write 1.0 sends snappy`);
          const body = await readBody(req, opts.bodyLimitBytes);
          let wr: WriteRequest;
          try {
            wr = parseRemoteWrite(body, {
              maxDecompressedBytes: opts.maxDecompressedBytes,
              maxSeries: opts.remoteWriteMaxSeries,
              maxSamples: opts.remoteWriteMaxSamples,
            });
          } catch (e) {
            if (e instanceof RemoteWriteError) throw new HttpError(400, `invalid remote-write body: ${e.message}`);
            throw e;
          }
          await port.remoteWrite(wr);
          res.writeHead(204);
          res.end();
        },
        true,
      ),
    },
  ];
}
