import { describe, expect, it } from 'vitest';
import { makeApp } from '../model/fixtures.ts';
import { certificateProblem, certificateText } from './report.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const withStatus = (status: object, spec = { internalRouting: true }): ReturnType<typeof makeApp> => ({
  ...makeApp('billing', spec),
  status: status,
});

describe('certificate expiry in info and doctor', () => {
  it('shows the Secret, the expiry and the days left', () => {
    const app = withStatus({
      tls: { mode: 'operator', secretName: 'billing-tls', notAfter: '2026-03-01T00:00:00Z' },
    });
    expect(certificateText(app, NOW)).toBe('billing-tls, expires 2026-03-01T00:00:00Z (in 59d)');
    expect(certificateProblem(app, NOW)).toBeUndefined();
    expect(certificateProblem(app, Date.parse('2026-02-25T00:00:00Z'))?.what).toMatch(
      /expires at 2026-03-01/,
    );
    expect(certificateText(app, Date.parse('2026-03-02T00:00:00Z'))).toMatch(/EXPIRED/);
  });

  it('says none for an external App, and the refusal when there is one', () => {
    expect(certificateText(makeApp('www'), NOW)).toBe('none');
    const refused = withStatus({
      conditions: [
        {
          type: 'Certificate',
          status: 'False',
          reason: 'SecretNotOwned',
          message: 'spec.tls.secretName: …',
          lastTransitionTime: '',
        },
      ],
    });
    expect(certificateText(refused, NOW)).toBe('operator: SecretNotOwned');
    expect(certificateProblem(refused, NOW)?.what).toMatch(
      /^certificate refused \(SecretNotOwned\): spec.tls.secretName/,
    );
    expect(certificateText(withStatus({}), NOW)).toBe('operator: <not issued yet>');
  });
});
