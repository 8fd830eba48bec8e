import { pino, type Logger } from 'pino';

/**
 * Structured logs (pino, JSON lines on stdout). Anything that could carry a secret is redacted
 * by path, so a token can never reach the logs through a logged request or config object.
 */
export function createLogger(level: string = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({
    name: 'harbinger',
    level,
    redact: {
      paths: [
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'req.headers.authorization',
        '*.signingSecret',
        '*.botToken',
        '*.webhookUrl',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
