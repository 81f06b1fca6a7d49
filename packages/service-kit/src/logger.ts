/** The one logger of every cx process: pino, one `service` field, secrets masked. */
import { pino, type Logger } from 'pino';

export function createLogger(options: { level: string; service: string }): Logger {
  return pino({
    level: options.level,
    base: { service: options.service },
    // Belt and braces: nothing secret should reach a log line, but if it does, it is masked.
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'secretKey',
        '*.secretKey',
        'req.headers.authorization',
        'headers.authorization',
      ],
      censor: '<redacted>',
    },
  });
}
