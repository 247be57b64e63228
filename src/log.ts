import { type DestinationStream, type Logger, pino } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type { Logger };

/** One JSON object per line on stdout (or `destination`), with a `msg` and structured fields. */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  return destination
    ? pino({ level, base: { name: 'mcp-shepherd' } }, destination)
    : pino({ level, base: { name: 'mcp-shepherd' } });
}
