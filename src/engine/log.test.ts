import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, keyLogger } from './log.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, destination };
}

describe('log', () => {
  it('writes JSON lines with a word level, an ISO time, and the key bound by keyLogger', () => {
    const { lines, destination } = capture();
    const log = keyLogger(createLogger({ level: 'info', destination }), 'apps', 'space-a/web');
    log.info({ extra: 1 }, 'reconciled');
    expect(lines[0]).toMatchObject({
      level: 'info',
      controller: 'apps',
      key: 'space-a/web',
      extra: 1,
      msg: 'reconciled',
    });
    expect(typeof lines[0]?.['time']).toBe('string');
  });

  it('serializes errors with their cause', () => {
    const { lines, destination } = capture();
    createLogger({ destination }).error({ err: new Error('outer', { cause: new Error('inner') }) }, 'failed');
    expect(JSON.stringify(lines[0]?.['err'])).toContain('inner');
  });
});
