import { readFileSync } from 'node:fs';

/**
 * A secret from the environment: `NAME` itself, or `NAME_FILE` pointing at a file (Kubernetes and
 * Docker secrets). Returns where it came from, never logs the value.
 */
export interface Secret {
  value: string;
  source: 'env' | 'file';
}

export function readSecret(name: string, env: NodeJS.ProcessEnv = process.env): Secret | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return { value: direct, source: 'env' };
  const file = env[`${name}_FILE`];
  if (file !== undefined && file !== '') {
    const value = readFileSync(file, 'utf8').trim();
    if (value === '') throw new Error(`${name}_FILE points at an empty file (${file})`);
    return { value, source: 'file' };
  }
  return undefined;
}
