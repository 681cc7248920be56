// Checks of App.spec.tls, pure: the spec alone (the webhook and the reconciler), and a user's own
// Secret (mode secret: it exists, is kubernetes.io/tls, and its certificate covers every name of
// the App and is valid now). Every message names the field.
import { X509Certificate as NodeX509, createPrivateKey } from 'node:crypto';
import type { App } from '../api/v1alpha1/index.ts';
import type { FieldError } from '../model/index.ts';
import { certNames } from './certs.ts';
import { splitPem, tlsSecretName } from './policy.ts';

const MODES = new Set(['operator', 'secret', 'none']);

/** What is wrong with spec.tls on its own (the CRD's CEL says the same for secretName). */
export function tlsSpecErrors(app: Pick<App, 'spec'>): FieldError[] {
  const tls = app.spec.tls;
  if (!tls) return [];
  const errors: FieldError[] = [];
  if (tls.mode !== undefined && !MODES.has(tls.mode)) {
    errors.push({
      field: 'spec.tls.mode',
      message: `spec.tls.mode "${tls.mode}" is not operator, secret or none`,
    });
  }
  if (tls.mode === 'secret' && !tls.secretName) {
    errors.push({
      field: 'spec.tls.secretName',
      message:
        'spec.tls.secretName is required when spec.tls.mode is secret: name your kubernetes.io/tls Secret',
    });
  }
  if (tls.mode === 'none' && tls.secretName) {
    errors.push({
      field: 'spec.tls.secretName',
      message: 'spec.tls.secretName has no use when spec.tls.mode is none: remove it, or choose mode secret',
    });
  }
  return errors;
}

/** The parts of a Secret the check reads. */
export interface SecretView {
  type?: string | undefined;
  data?: Record<string, string> | undefined;
}

const unb64 = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

/** A DNS name matches a SAN entry exactly, or a wildcard SAN (`*.example.com`) one label deep. */
export function sanCovers(san: string, name: string): boolean {
  if (san === name) return true;
  if (!san.startsWith('*.')) return false;
  const rest = name.slice(name.indexOf('.') + 1);
  return name.includes('.') && rest === san.slice(2);
}

/**
 * Why the user's Secret cannot serve the App (empty: it can). `names` are the App's names; `now`
 * the engine's clock. The certificate is the first PEM block of tls.crt.
 */
export function userSecretErrors(
  app: Pick<App, 'spec' | 'metadata'>,
  secret: SecretView | undefined,
  names: readonly string[],
  now: number,
): FieldError[] {
  const field = 'spec.tls.secretName';
  const ref = `Secret ${app.metadata.namespace ?? ''}/${tlsSecretName(app)}`;
  const shape = secretShapeError(secret, ref);
  if (shape) return [{ field, message: `${field}: ${shape}` }];
  const pem = splitPem(unb64(secret!.data?.['tls.crt']) ?? '')[0]!;
  const key = unb64(secret!.data?.['tls.key'])!;
  try {
    return certificateErrors(pem, key, names, now, ref).map((m) => ({ field, message: `${field}: ${m}` }));
  } catch (err) {
    const message = `${field}: ${ref}: tls.crt or tls.key cannot be read (${(err as Error).message})`;
    return [{ field, message }];
  }
}

/** What makes the Secret unusable before its certificate is even read (undefined: nothing). */
function secretShapeError(secret: SecretView | undefined, ref: string): string | undefined {
  if (!secret) return `${ref} does not exist; create it or change spec.tls.secretName`;
  if (secret.type !== 'kubernetes.io/tls')
    return `${ref} has type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls`;
  const pem = splitPem(unb64(secret.data?.['tls.crt']) ?? '')[0];
  const key = unb64(secret.data?.['tls.key']);
  return pem && key ? undefined : `${ref} has no tls.crt or tls.key`;
}

/** The certificate's faults: its key, the names it lacks, its expiry. Throws when it cannot be read. */
function certificateErrors(
  pem: string,
  key: string,
  names: readonly string[],
  now: number,
  ref: string,
): string[] {
  const cert = new NodeX509(pem);
  const errors: string[] = [];
  if (!cert.checkPrivateKey(createPrivateKey(key))) errors.push(`${ref}: tls.key is not the key of tls.crt`);
  const sans = certNames(pem);
  const missing = names.filter((n) => !sans.some((s) => sanCovers(s, n)));
  if (missing.length > 0) {
    errors.push(
      `the certificate in ${ref} does not cover ${missing.join(', ')} (it has ${sans.join(', ') || 'no DNS names'})`,
    );
  }
  if (Date.parse(cert.validTo) <= now) {
    errors.push(`the certificate in ${ref} expired at ${new Date(cert.validTo).toISOString()}`);
  }
  return errors;
}
