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

/** The shortest bearer token accepted: a guessable one is no authentication. */
export const MIN_TOKEN_LENGTH = 16;

/** A bearer token (the API token by default), refused when too short (a stray newline in a secret file is trimmed, spaces inside are not). */
export function readApiToken(env: NodeJS.ProcessEnv = process.env, name = 'HARBINGER_API_TOKEN'): Secret | undefined {
  const token = readSecret(name, env);
  if (token === undefined) return undefined;
  const value = token.value.trim();
  if (value.length < MIN_TOKEN_LENGTH)
    throw new Error(`${name} is ${value.length} characters long; use at least ${MIN_TOKEN_LENGTH} (for example: openssl rand -hex 32)`);
  return { ...token, value };
}
