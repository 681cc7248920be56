// The bench runs the operator with the Deployment's node flags, as the container would.
import { describe, expect, it } from 'vitest';
import { asInContainer, deployedNodeOptions } from '../../bench/deployed.ts';

describe('the Deployment’s node flags in the bench', () => {
  it('sizes a heap given as a share of the memory limit as Node does in the container', () => {
    expect(asInContainer('--max-old-space-size-percentage=60', '512Mi')).toBe('--max-old-space-size=307');
    expect(asInContainer('--max-old-space-size-percentage=50', '1Gi')).toBe('--max-old-space-size=512');
    expect(asInContainer('--max-semi-space-size=4', '512Mi')).toBe('--max-semi-space-size=4');
  });

  it('refuses a share without a limit it can read, naming the flag', () => {
    expect(() => asInContainer('--max-old-space-size-percentage=60', undefined)).toThrow(
      /--max-old-space-size-percentage=60 needs a memory limit/,
    );
    expect(() => asInContainer('--max-old-space-size-percentage=60', '512M')).toThrow(/not 512M/);
  });

  it('reads deploy/deployment.yaml: no share left, the old space under its limit', () => {
    const flags = deployedNodeOptions();
    expect(flags.some((f) => f.startsWith('--max-old-space-size-percentage'))).toBe(false);
    const oldSpace = flags.find((f) => f.startsWith('--max-old-space-size='));
    expect(Number(oldSpace?.split('=')[1])).toBeGreaterThan(0);
  });
});
