import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { RecentWrites } from './recent.ts';

describe('RecentWrites', () => {
  it('answers while the cache shows the replaced version, and forgets once it shows another', () => {
    const r = new RecentWrites<string>();
    r.remember('k', '5', 'written');
    expect(r.lookup('k', '5')).toBe('written');
    expect(r.lookup('k', '5')).toBe('written');
    expect(r.lookup('k', '6')).toBeUndefined();
    expect(r.lookup('k', '5')).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('treats "not cached" as a version: a create is remembered until the cache holds the object', () => {
    const r = new RecentWrites<string>();
    r.remember('k', undefined, 'created');
    expect(r.lookup('k', undefined)).toBe('created');
    expect(r.lookup('k', '1')).toBeUndefined();
  });

  it('expires entries after the ttl, oldest first, including ones never looked at again', () => {
    const clock = new FakeClock();
    const r = new RecentWrites<string>({ ttlMs: 1000, clock });
    r.remember('a', '1', 'a');
    clock.advance(600);
    r.remember('b', '1', 'b');
    clock.advance(600);
    expect(r.lookup('a', '1')).toBeUndefined();
    expect(r.lookup('b', '1')).toBe('b');
    r.remember('c', '1', 'c');
    clock.advance(500);
    r.remember('d', '1', 'd'); // b (1100 ms old) goes
    expect(r.size).toBe(2);
  });

  it('peeks at a write whatever the cache shows, until it expires or is forgotten', () => {
    const clock = new FakeClock();
    const r = new RecentWrites<string>({ ttlMs: 1000, clock });
    r.remember('k', '5', 'written');
    expect(r.peek('k')).toBe('written');
    expect(r.peek('other')).toBeUndefined();
    clock.advance(999);
    expect(r.peek('k')).toBe('written');
    clock.advance(1);
    expect(r.peek('k')).toBeUndefined();
    r.remember('k', '5', 'again');
    expect(r.lookup('k', '6')).toBeUndefined(); // the cache moved on: forgotten
    expect(r.peek('k')).toBeUndefined();
  });

  it('keeps the latest write of a key', () => {
    const r = new RecentWrites<string>();
    r.remember('k', '1', 'first');
    r.remember('k', '1', 'second');
    expect(r.lookup('k', '1')).toBe('second');
  });

  it('forgets expired writes without further calls (a quiet operator holds none)', () => {
    const clock = new FakeClock();
    const r = new RecentWrites<string>({ ttlMs: 1000, clock });
    r.remember('a', '1', 'a');
    clock.advance(500);
    r.remember('b', '1', 'b');
    clock.advance(600);
    expect(r.size).toBe(1);
    clock.advance(1000);
    expect(r.size).toBe(0);
  });
});
