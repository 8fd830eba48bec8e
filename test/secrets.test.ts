import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiToken, readSecret } from '../src/config/secrets.js';

describe('secrets', () => {
  it('reads NAME or NAME_FILE, trims a file, refuses an empty file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-secret-'));
    writeFileSync(join(dir, 't'), 'from-a-file-0123456789\n');
    writeFileSync(join(dir, 'empty'), '\n');
    expect(readSecret('X', { X: 'direct' })).toEqual({ value: 'direct', source: 'env' });
    expect(readSecret('X', { X_FILE: join(dir, 't') })).toEqual({ value: 'from-a-file-0123456789', source: 'file' });
    expect(readSecret('X', {})).toBeUndefined();
    expect(() => readSecret('X', { X_FILE: join(dir, 'empty') })).toThrow(/X_FILE points at an empty file/);
  });

  it('refuses an API token shorter than 16 characters, a blank one included, and never echoes it', () => {
    expect(() => readApiToken({ HARBINGER_API_TOKEN: 'x' })).toThrow('HARBINGER_API_TOKEN is 1 characters long; use at least 16');
    expect(() => readApiToken({ HARBINGER_API_TOKEN: '    ' })).toThrow('HARBINGER_API_TOKEN is 0 characters long');
    expect(() => readApiToken({ HARBINGER_API_TOKEN: 'exactly-16-chars' })).not.toThrow();
    try {
      readApiToken({ HARBINGER_API_TOKEN: 'hunter2' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
    expect(readApiToken({ HARBINGER_API_TOKEN: ' 0123456789abcdef ' })).toEqual({ value: '0123456789abcdef', source: 'env' });
    expect(readApiToken({})).toBeUndefined();
  });
});
