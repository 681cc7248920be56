// Where the webhook's certificate lives and how every replica agrees on one.
//
// Self-managed (`SecretCertStore`): a Secret of type kubernetes.io/tls in the operator's
// namespace holding tls.crt / tls.key (serving) plus ca.crt (the CA bundle to trust) and ca.key.
// Read first; create when missing (on 409 another replica won: re-read and use its certificate);
// renew with an optimistic-concurrency replace (on 409, re-read). So two replicas racing always
// end with one certificate.
//
// cert-manager (`SecretCertSource`, `DirCertSource`): read-only; cert-manager issues and renews,
// and its cainjector fills the caBundle.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../engine/clock.ts';
import { buildPath, type KubeApi } from '../engine/kubeclient.ts';
import { renew, renewReason, splitPem, type CertBundle, type RenewOptions } from './certs.ts';
import { isConflict, isNotFound } from './errors.ts';

/** What the HTTPS server needs, plus the CA bundle to inject (absent when not ours to inject). */
export interface ServingMaterial {
  cert: string;
  key: string;
  caBundle?: string;
}

/** Something that yields the current serving certificate; called at start and then periodically. */
export interface CertSource {
  current(): Promise<ServingMaterial>;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

/** The URL path of a Secret (or, without a name, of the namespace's Secrets). */
const secretPath = (namespace: string, name?: string): string => buildPath('v1', 'secrets', namespace, name);

export function bundleFromSecret(s: V1Secret | undefined): CertBundle | undefined {
  const d = s?.data ?? {};
  const [cert, key, caBundle, caKey] = [d['tls.crt'], d['tls.key'], d['ca.crt'], d['ca.key']].map(unb64);
  if (!cert || !key || !caBundle || !caKey) return undefined;
  const caCert = splitPem(caBundle)[0];
  if (!caCert) return undefined;
  return { cert, key, caBundle, caKey, caCert: caCert + '\n' };
}

export function secretFromBundle(b: CertBundle, name: string, namespace: string, prev?: V1Secret): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      ...(prev?.metadata ?? {}),
      name,
      namespace,
      labels: { ...(prev?.metadata?.labels ?? {}), 'app.kubernetes.io/managed-by': 'spaces-operator' },
    },
    // ca.crt: the current CA first, then (during a CA rotation) the previous one.
    data: {
      'tls.crt': b64(b.cert),
      'tls.key': b64(b.key),
      'ca.crt': b64(b.caBundle),
      'ca.key': b64(b.caKey),
    },
  };
}

export interface SecretCertStoreOptions extends RenewOptions {
  api: KubeApi;
  namespace: string;
  secretName: string;
  logger?: Logger;
  /** Attempts before giving up when replicas keep racing. Default 5. */
  attempts?: number;
  /** What "now" is when `now` is not given (validity and renewal). Default the real clock. */
  clock?: Clock;
}

/** The operator's own certificates, kept in a Secret and shared by every replica. */
export class SecretCertStore implements CertSource {
  private readonly o: SecretCertStoreOptions;

  constructor(o: SecretCertStoreOptions) {
    this.o = o;
  }

  async current(): Promise<ServingMaterial> {
    const b = await this.ensure();
    return { cert: b.cert, key: b.key, caBundle: b.caBundle };
  }

  /** The valid bundle in the Secret, creating or renewing it when needed. */
  async ensure(): Promise<CertBundle> {
    const { api, namespace, secretName: name } = this.o;
    for (let i = 0; i < (this.o.attempts ?? 5); i++) {
      const live = await this.read();
      const have = bundleFromSecret(live);
      const now = this.now();
      const reason = renewReason(have, { ...this.o, now });
      if (!reason) return have!;
      const next = await renew(have, reason, { ...this.o, now });
      this.o.logger?.info({ secret: `${namespace}/${name}`, reason }, 'issuing webhook certificate');
      try {
        // The replace carries the live resourceVersion: a concurrent write makes it fail with 409.
        if (live) {
          await api.request({
            method: 'PUT',
            path: secretPath(namespace, name),
            body: secretFromBundle(next, name, namespace, live),
          });
        } else {
          await api.request({
            method: 'POST',
            path: secretPath(namespace),
            body: secretFromBundle(next, name, namespace),
          });
        }
        return next;
      } catch (err) {
        if (!isConflict(err)) throw err;
        this.o.logger?.info(
          { secret: `${namespace}/${name}` },
          'another replica wrote the certificate; re-reading',
        );
      }
    }
    throw new Error(`webhook certificate Secret ${namespace}/${name}: gave up after repeated conflicts`);
  }

  /** `now` when given, else the clock's time. */
  private now(): Date {
    return this.o.now ?? new Date((this.o.clock ?? realClock).now());
  }

  private async read(): Promise<V1Secret | undefined> {
    try {
      return await this.o.api.request<V1Secret>({
        method: 'GET',
        path: secretPath(this.o.namespace, this.o.secretName),
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** cert-manager's Secret, read through the API (no volume needed). Read-only. */
export class SecretCertSource implements CertSource {
  private readonly api: KubeApi;
  private readonly namespace: string;
  private readonly name: string;

  constructor(api: KubeApi, namespace: string, name: string) {
    this.api = api;
    this.namespace = namespace;
    this.name = name;
  }

  async current(): Promise<ServingMaterial> {
    const s = await this.api.request<V1Secret>({
      method: 'GET',
      path: secretPath(this.namespace, this.name),
    });
    const cert = unb64(s.data?.['tls.crt']);
    const key = unb64(s.data?.['tls.key']);
    if (!cert || !key) throw new Error(`Secret ${this.namespace}/${this.name} has no tls.crt/tls.key yet`);
    return { cert, key };
  }
}

/** cert-manager's Secret mounted as a volume (tls.crt, tls.key). Read-only. */
export class DirCertSource implements CertSource {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async current(): Promise<ServingMaterial> {
    const [cert, key] = await Promise.all([
      readFile(path.join(this.dir, 'tls.crt'), 'utf8'),
      readFile(path.join(this.dir, 'tls.key'), 'utf8'),
    ]);
    return { cert, key };
  }
}
