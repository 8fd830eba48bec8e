import { describe, expect, it } from 'vitest';
import { LabelMapper } from '../src/adapters/mapping/label-mapper.js';
import { labelMappingSchema } from '../src/adapters/mapping/config.js';

const mapper = new LabelMapper(labelMappingSchema.parse({ metrics: [{ match: '^http_', signal: 'reliability' }] }));

describe('label mapper', () => {
  it('maps a labelled series onto signal, metric, stack and service', () => {
    expect(mapper.map({ __name__: 'http_5xx_rate', stack: 'us-east-1', service: 'checkout' })).toEqual({
      ok: true,
      signal: 'reliability',
      metric: 'http_5xx_rate',
      stack: 'us-east-1',
      service: 'checkout',
    });
  });

  it('refuses names longer than a JSON sample may have, with the label that was too long', () => {
    const long = 'x'.repeat(201);
    expect(mapper.map({ __name__: 'http_5xx_rate', stack: long, service: 'checkout' })).toEqual({
      ok: false,
      reason: "'stack' label longer than 200 characters",
    });
    expect(mapper.map({ __name__: 'http_5xx_rate', stack: 'us-east-1', service: long })).toEqual({
      ok: false,
      reason: "'service' label longer than 200 characters",
    });
    expect(mapper.map({ __name__: `http_${long}`, stack: 'us-east-1', service: 'checkout' })).toEqual({
      ok: false,
      reason: 'metric name longer than 200 characters',
    });
    expect(mapper.map({ __name__: 'http_5xx_rate', stack: 'x'.repeat(200), service: 'checkout' }).ok).toBe(true);
  });
});
