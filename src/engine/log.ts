// JSON logging with pino. One root logger per process; modules take a `Logger` and derive
// children (`logger.child({ controller, key })`) so every line of a reconcile names its key.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** pino level; default `LOG_LEVEL` from the environment, else 'info'. */
  level?: string;
  /** Bound on every line (e.g. the component). */
  base?: Record<string, unknown>;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
}

/** A JSON logger: ISO timestamps, `level` as a word, `err` serialized with its cause. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: opts.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.errWithCause },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that writes nothing (tests, defaults for optional loggers). */
export const silentLogger: Logger = pino({ level: 'silent' });

/** A child logger for one key of one controller: `{ controller, key }` on every line. */
export function keyLogger(parent: Logger, controller: string, key: unknown): Logger {
  return parent.child({ controller, key: typeof key === 'string' ? key : JSON.stringify(key) });
}
