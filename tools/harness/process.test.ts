import { describe, expect, it } from 'vitest';
import { startRetryingTakenPorts } from './process.ts';

describe('startRetryingTakenPorts', () => {
  const taken = new Error(
    'etcd exited with code 1:\nlisten tcp 127.0.0.1:42753: bind: address already in use',
  );

  it('starts again after a taken port, cleaning up before each retry', async () => {
    const cleaned: boolean[] = [];
    let calls = 0;
    const started = await startRetryingTakenPorts(
      () => (++calls < 3 ? Promise.reject(taken) : Promise.resolve('up')),
      (_err, retrying) => Promise.resolve(void cleaned.push(retrying)),
    );
    expect([started, calls, cleaned]).toEqual(['up', 3, [true, true]]);
  });

  it('throws any other failure at once, and a taken port after the last attempt', async () => {
    const cleaned: boolean[] = [];
    const record = (_err: unknown, retrying: boolean): Promise<void> =>
      Promise.resolve(void cleaned.push(retrying));
    await expect(
      startRetryingTakenPorts(() => Promise.reject(new Error('etcd exited with code 2')), record),
    ).rejects.toThrow('code 2');
    expect(cleaned).toEqual([false]);
    cleaned.length = 0;
    await expect(startRetryingTakenPorts(() => Promise.reject(taken), record, 2)).rejects.toBe(taken);
    expect(cleaned).toEqual([true, false]);
  });
});
