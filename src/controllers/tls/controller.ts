// Private TLS (issue 19): each Space gets its own CA, held by the operator in its own namespace
// (never in the Space's, where `edit` reads Secrets); each App in mode operator gets a serving
// certificate for exactly its names in a kubernetes.io/tls Secret of its namespace (with ca.crt),
// renewed at 2/3 of its lifetime; the Space's CA bundle is the ConfigMap `privatespaces-ca` in the
// Space's namespace. Mode secret checks the user's own Secret; with `--tls-issuer=cert-manager:…`
// cert-manager issues instead. One queue, two kinds of key: `space:<name>` (the CA and the bundle)
// and `app:<namespace>/<name>` (the certificate, and a report of it: status.tls and the Certificate
// condition, which the App reconciler writes with the rest of the App's status, waiting for a
// judgement of the App queued or running, so a new App gets one status write).
// Every renewal is timed by the injected clock: the reconcile asks to run again when the next
// certificate is due.
import { createHash } from 'node:crypto';
import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { App, Space } from '../../api/v1alpha1/index.ts';
import {
  ApiError,
  Applier,
  Controller,
  Informer,
  deepEqual,
  isConflict,
  isNotFound,
  realClock,
  type Clock,
  type Condition,
  type KubeApi,
  type Reconciler,
} from '../../engine/index.ts';
import { SPACE_LABEL } from '../../model/index.ts';
import { issueServingCert, type KeyedCert } from '../../tls/certs.ts';
import {
  bundleOf,
  caBundleConfigMap,
  caSecret,
  caStateOf,
  certManagerCertificate,
  keyedCertOf,
  ownedBy,
  servingSecret,
  type CertManagerIssuer,
} from '../../tls/objects.ts';
import {
  CA_BUNDLE_CONFIGMAP,
  TLS_LABEL,
  caBundle,
  caNextEvent,
  caPermitted,
  caReason,
  caSecretName,
  certificateNames,
  planCa,
  renewAt,
  servingReason,
  tlsMode,
  tlsSecretName,
  validity,
  type CaState,
  type ServingReason,
} from '../../tls/policy.ts';
import {
  accessBinding,
  createOrReplace,
  deleteExactly,
  ensureAccessBinding,
  readObject,
  readVersion,
} from '../../tls/store.ts';
import { tlsSpecErrors, userSecretErrors } from '../../tls/validate.ts';
import { certificateExpiry } from '../../webhook/metrics.ts';
import { keyOf, splitKey, type Ctx, type TlsReport } from '../context.ts';
import { tlsSecretRechecks } from '../metrics.ts';

/** setTimeout holds at most 2^31-1 ms (~24.8 days): a longer requeue is cut to this, then re-judged. */
export const MAX_REQUEUE_MS = 12 * 60 * 60 * 1000;
/** How often a user's own Secret (mode secret, in no cache of ours) is checked again. */
export const USER_SECRET_RECHECK_MS = 5 * 60 * 1000;
/**
 * How often the operator's own App Secret is read again and repaired when it drifted. The
 * operator may not list or watch a tenant's Secrets (deploy/rbac.yaml), so drift is found by this
 * level-triggered re-read, not by a watch.
 */
export const SECRET_RECHECK_MS = 5 * 60 * 1000;
/**
 * Without `secretRecheckMs`, each App's Secret is re-read at least this long times the number of
 * Apps apart, so the re-reads never exceed ~2 a second however many Apps there are: 5 min up to
 * 600 Apps, ~83 min at 10,000 (the ownership webhook is the guard; this is its backstop).
 */
export const RECHECK_SPACING_MS = 500;

/** When an App's Secret is read again, with `apps` Apps in the cluster (`option`: secretRecheckMs). */
export function recheckMs(apps: number, option?: number): number {
  return option ?? Math.max(SECRET_RECHECK_MS, apps * RECHECK_SPACING_MS);
}

/**
 * The re-read of App `key`'s Secret: `base` plus a share of it fixed by the key (FNV-1a), so the
 * Apps of a burst, issued within seconds of each other, are read again spread over `base` instead
 * of all at once `base` later.
 */
export function recheckDelayMs(key: string, base: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return base + Math.floor(((h >>> 0) / 2 ** 32) * base);
}
export const CONDITION = 'Certificate';
/** The Certificate condition's reason when the Secret changed (or appeared) while it was written. */
const CONFLICT = 'Issuing';
/**
 * How long the App reconciler waits for a judgement of the App that is queued or running before it
 * writes the status without it (the report then queues the App again).
 */
export const SETTLE_MS = 10_000;

export interface TlsOptions {
  /** cert-manager issues the Apps' certificates instead of the operator's Space CAs. */
  issuer?: CertManagerIssuer | undefined;
  clock?: Clock;
  caLifetimeMs?: number;
  servingLifetimeMs?: number;
  propagationMs?: number;
  concurrency?: number;
  /**
   * How often an App's Secret is read again to repair drift (default `recheckMs`; each App's
   * re-read falls between this and twice this, see `recheckDelayMs`): the ownership webhook
   * refuses changes by anyone else, this repairs what got past it (webhook configuration deleted,
   * an admin).
   */
  secretRecheckMs?: number;
}

type AppObj = App & KubernetesObject & { metadata: { name: string } };
type SpaceObj = Space & KubernetesObject & { metadata: { name: string } };
type CondInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
type AppResult = {
  condition: CondInput;
  tls: NonNullable<NonNullable<App['status']>['tls']>;
  requeueAfter?: number;
  /** The App's Secret judged good, when its resourceVersion is known (see `Judged`). */
  judged?: Judged;
};

const ns = (o: KubernetesObject): string => o.metadata?.namespace ?? '';

/**
 * An App's Secret as last judged good: its resourceVersion then, what the judgement was made
 * against (the App, its names, the CA bundle: `basisOf`) and when its certificate is due. While
 * all hold, the drift re-read needs the Secret's resourceVersion only, and the report stands.
 */
interface Judged {
  version: string;
  basis: string;
  due: number;
}

/** A report kept for the App's status, with the judgement of its Secret it rests on. */
type Kept = TlsReport & { judged?: Judged };

/** What a judgement of an App's Secret rests on besides the Secret itself (hashed: the bundle is kilobytes). */
export function basisOf(
  app: Pick<App, 'metadata' | 'spec'>,
  names: readonly string[],
  bundle: string,
): string {
  return createHash('sha256')
    .update(`${app.metadata.uid}\n${tlsSecretName(app)}\n${names.join(',')}\n${bundle}`)
    .digest('base64url')
    .slice(0, 22);
}

export class TlsController {
  readonly name = 'tls';
  readonly #c: Ctx;
  readonly #api: KubeApi;
  readonly #o: TlsOptions;
  readonly #clock: Clock;
  /** The CA Secrets, in the operator's own namespace (the only Secrets it lists). */
  readonly secrets: Informer<V1Secret & { metadata: { name: string } }>;
  readonly #ctl: Controller<string>;
  readonly #applier: Applier;
  #started = false;
  /** Reconciling (its CA cache synced): only then does an App reconcile wait for a judgement. */
  #running = false;
  /** Space namespaces where the operator's access RoleBinding is known to exist. */
  readonly #access = new Set<string>();
  /**
   * Apps whose Secret this process created: read it before writing again, even while the cache
   * still shows a status from before it (the status write's event not yet in).
   */
  readonly #created = new Set<string>();
  #subject: Promise<{ kind: string; namespace?: string; name: string }> | undefined;
  /** Each App's last report (`namespace/name`), for its status. */
  readonly #reports = new Map<string, Kept>();
  /** Queues the App reconcile of `namespace/name`: its report changed and no reconcile waits for it. */
  readonly #onReport: (key: string) => void;

  constructor(c: Ctx, api: KubeApi, o: TlsOptions = {}, onReport: (key: string) => void = () => undefined) {
    this.#c = c;
    this.#onReport = onReport;
    this.#api = api;
    this.#o = o;
    this.#clock = o.clock ?? realClock;
    this.secrets = new Informer({
      api,
      name: 'tls-ca-secrets',
      path: `/api/v1/namespaces/${c.settings.operatorNamespace}/secrets`,
      logger: c.log,
      labelSelector: TLS_LABEL,
    });
    this.#applier = new Applier({ api, logger: c.log });
    this.#ctl = new Controller(this.#reconciler(), {
      concurrency: o.concurrency ?? 2,
      logger: c.log,
      clock: this.#clock,
    });
    this.#wire();
  }

  /** Starts the CA cache, then reconciling once it has synced. Leader only, like every controller. */
  start(): void {
    this.#started = true;
    this.secrets.start();
    void this.secrets.synced.then(() => {
      if (!this.#started) return;
      this.#ctl.start();
      this.#running = true;
      for (const s of this.#c.informers.spaces.list()) this.#ctl.enqueue(`space:${s.metadata.name}`);
      for (const a of this.#c.informers.apps.list()) this.#ctl.enqueue(`app:${keyOf(a)}`);
    });
  }

  async stop(opts: { drain?: boolean } = {}): Promise<void> {
    const was = this.#started;
    this.#started = false;
    this.#running = false;
    if (was) await this.#ctl.stop(opts).catch(() => undefined);
    this.secrets.stop();
  }

  /**
   * The last report for App `key` (`namespace/name`), after the judgement of it that is queued or
   * running has ended (at most SETTLE_MS; no wait before this controller reconciles, e.g. while
   * its CA cache cannot sync); undefined when there is nothing to report.
   */
  async report(key: string): Promise<TlsReport | undefined> {
    // The App reconcile may have started inside the informer's dispatch of the very event that
    // queues this judgement: let the dispatch reach this controller's handlers first.
    await Promise.resolve();
    if (this.#running) await this.#ctl.queue.settled(`app:${key}`, SETTLE_MS);
    return this.#reports.get(key);
  }

  enqueue(key: string): void {
    this.#ctl.enqueue(key);
  }

  #appsOf(space: string): string[] {
    return this.#c.informers.apps.list(space).map((a) => `app:${keyOf(a)}`);
  }

  #wire(): void {
    const { apps, spaces } = this.#c.informers;
    const q = (keys: string[]): void => keys.forEach((k) => this.#ctl.enqueue(k));
    const onApp = (a: AppObj): void => q([`app:${keyOf(a)}`, `space:${ns(a)}`]);
    apps.onAdd(onApp);
    apps.onDelete(onApp);
    // Our own status writes come back as updates: only a spec change, or a status that lost what
    // we wrote (another writer's merge patch), needs us again.
    apps.onUpdate((o, n) => {
      if (o.metadata.generation !== n.metadata.generation || lostOurStatus(n)) onApp(n);
    });
    const onSpace = (s: SpaceObj): void => q([`space:${s.metadata.name}`, ...this.#appsOf(s.metadata.name)]);
    spaces.onAdd(onSpace);
    spaces.onDelete(onSpace);
    spaces.onUpdate((o, n) => {
      if (o.metadata.generation !== n.metadata.generation) onSpace(n);
    });
    // A CA written (by us, or by another replica before a leader change) or deleted: its Space and Apps.
    const onCa = (o: KubernetesObject): void => {
      const space = o.metadata?.labels?.[SPACE_LABEL];
      if (space) q([`space:${space}`, ...this.#appsOf(space)]);
    };
    this.secrets.onAdd(onCa);
    this.secrets.onUpdate((_o, n) => onCa(n));
    this.secrets.onDelete(onCa);
  }

  #reconciler(): Reconciler<string> {
    return {
      name: 'tls',
      reconcile: async (key) => {
        try {
          if (key.startsWith('space:')) return await this.#reconcileSpace(key.slice('space:'.length));
          if (key.startsWith('app:')) return await this.#reconcileApp(key.slice('app:'.length));
          return undefined;
        } catch (err) {
          // Forbidden: our RoleBinding in that namespace is gone (a namespace admin removed it);
          // forget it, so the retry makes it again.
          if (err instanceof ApiError && err.code === 403) this.#access.delete(spaceOfKey(key));
          throw err;
        }
      },
    };
  }

  // ---- Space: its CA (operator's namespace) and its bundle (Space namespace) ----

  #caSecretLive(space: string): V1Secret | undefined {
    return this.secrets.get(`${this.#c.settings.operatorNamespace}/${caSecretName(space)}`);
  }

  /** The Space needs a CA of the operator's: some App of it is in mode operator, without cert-manager. */
  #needsCa(space: string): boolean {
    if (this.#o.issuer) return false;
    return this.#c.informers.apps
      .list(space)
      .some((a) => !a.metadata.deletionTimestamp && tlsMode(a) === 'operator');
  }

  async #reconcileSpace(name: string): Promise<{ requeueAfter?: number } | void> {
    const space = this.#c.informers.spaces.get(name);
    if (!space || space.metadata.deletionTimestamp) return;
    const live = this.#caSecretLive(name);
    if (!live && !this.#needsCa(name)) return;
    if (live && !ownedBy(live, space.metadata.uid)) {
      this.#c.log.error(
        { secret: `${live.metadata?.namespace}/${live.metadata?.name}` },
        'CA Secret not ours: left alone',
      );
      return;
    }
    const now = this.#clock.now();
    const state = await this.#planCa(space, live, now);
    await this.#publishBundle(space, caBundle(state, now));
    return { requeueAfter: this.#bounded(caNextEvent(state, this.#o.propagationMs) - now) };
  }

  /** The Space's CA state, made, rotated or promoted and written when due (caReason). */
  async #planCa(space: SpaceObj, live: V1Secret | undefined, now: number): Promise<CaState> {
    const name = space.metadata.name;
    const state = caStateOf(live);
    const planOpts = {
      space: name,
      permitted: caPermitted(space, this.#c.settings),
      now,
      caLifetimeMs: this.#o.caLifetimeMs,
      propagationMs: this.#o.propagationMs,
    };
    const reason = caReason(state, planOpts);
    if (!reason) return state!;
    const next = await planCa(state, reason, planOpts);
    await createOrReplace(this.#api, caSecret(space, next, this.#c.settings.operatorNamespace, now), live);
    await this.#c.events.emit(space, {
      reason: reason === 'promoted' ? 'CARotated' : 'CAIssued',
      action: 'IssueCA',
      note: `Space CA ${reason}: Secret ${this.#c.settings.operatorNamespace}/${caSecretName(name)}`,
    });
    this.#appsOf(name).forEach((k) => this.#ctl.enqueue(k));
    return next;
  }

  /** Who the operator is (SelfSubjectReview): the subject of its access RoleBindings. */
  async #self(): Promise<{ kind: string; namespace?: string; name: string }> {
    this.#subject ??= this.#api
      .request<{ status?: { userInfo?: { username?: string } } }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      })
      .then((r) => subjectOf(r.status?.userInfo?.username ?? ''))
      .catch((err: unknown) => {
        this.#subject = undefined;
        throw err;
      });
    return this.#subject;
  }

  /** The operator's rights on Secrets and ConfigMaps in this Space's namespace (a RoleBinding it makes once). */
  async #ensureAccess(space: SpaceObj): Promise<void> {
    if (this.#access.has(space.metadata.name)) return;
    const binding = accessBinding(space, await this.#self());
    if (await ensureAccessBinding(this.#api, binding)) {
      this.#c.log.info({ namespace: space.metadata.name }, 'bound spaces-operator-space-tls for private TLS');
    }
    this.#access.add(space.metadata.name);
  }

  async #publishBundle(space: SpaceObj, bundle: string): Promise<void> {
    await this.#ensureAccess(space);
    const live = await readObject<V1ConfigMap>(
      this.#api,
      'ConfigMap',
      space.metadata.name,
      CA_BUNDLE_CONFIGMAP,
    );
    if (live && !ownedBy(live, space.metadata.uid)) {
      await this.#c.events.emit(space, {
        type: 'Warning',
        reason: 'CABundleNotOwned',
        action: 'PublishCABundle',
        note: `ConfigMap ${space.metadata.name}/${CA_BUNDLE_CONFIGMAP} was not created by spaces-operator: it is never overwritten; delete it to get the Space's CA bundle`,
      });
      return;
    }
    if (live && bundleOf(live) === bundle) return;
    await createOrReplace(this.#api, caBundleConfigMap(space, space.metadata.name, bundle), live);
  }

  #bounded(ms: number): number {
    return Math.max(1000, Math.min(MAX_REQUEUE_MS, ms));
  }

  // ---- App: its certificate, status.tls and the Certificate condition ----

  async #reconcileApp(key: string): Promise<{ requeueAfter?: number } | void> {
    const app = this.#c.informers.apps.get(key);
    const { namespace, name } = splitKey(key);
    if (!app || app.metadata.deletionTimestamp) {
      this.#created.delete(key);
      this.#reports.delete(key);
      certificateExpiry().remove({ namespace, name: `${name}-tls` });
      return; // Secrets go with the App (owner reference)
    }
    const space = this.#c.informers.spaces.get(namespace);
    if (!space) return;
    await this.#dropStaleSecret(app, space);
    const result = await this.#judge(app, space);
    if (!result) {
      this.#reports.delete(key);
      return;
    }
    this.#publish(key, app, result);
    return result.requeueAfter === undefined
      ? undefined
      : { requeueAfter: this.#bounded(result.requeueAfter) };
  }

  /** What the App's certificate is now; undefined when there is nothing to report (mode none, never reported). */
  async #judge(app: AppObj, space: SpaceObj): Promise<AppResult | undefined> {
    const errors = tlsSpecErrors(app);
    const mode = tlsMode(app);
    if (errors.length > 0) {
      return {
        tls: { mode },
        condition: cond('False', 'InvalidSpec', errors.map((e) => e.message).join('; ')),
      };
    }
    if (mode === 'none') {
      certificateExpiry().remove({ namespace: ns(app), name: tlsSecretName(app) });
      if (!app.status?.tls && !app.status?.conditions?.some((c) => c.type === CONDITION)) return undefined;
      return {
        tls: { mode },
        condition: cond('True', 'NotRequested', 'spec.tls.mode is none: no certificate'),
      };
    }
    await this.#ensureAccess(space);
    if (mode === 'secret') return this.#judgeUserSecret(app, space);
    if (this.#o.issuer) return this.#judgeCertManager(app, space, this.#o.issuer);
    return this.#issue(app, space);
  }

  async #judgeUserSecret(app: AppObj, space: SpaceObj): Promise<AppResult> {
    const secretName = tlsSecretName(app);
    const secret = await readObject<V1Secret>(this.#api, 'Secret', ns(app), secretName);
    const now = this.#clock.now();
    const errors = userSecretErrors(app, secret, certificateNames(app, space), now);
    const tls = { mode: 'secret' as const, secretName };
    if (errors.length > 0) {
      certificateExpiry().remove({ namespace: ns(app), name: secretName });
      const message = errors.map((e) => e.message).join('; ');
      return {
        tls,
        condition: cond('False', 'InvalidSecret', message),
        requeueAfter: USER_SECRET_RECHECK_MS,
      };
    }
    const { notAfter } = validity(keyedCertOf(secret)!.cert);
    certificateExpiry().set({ namespace: ns(app), name: secretName }, Math.floor(notAfter / 1000));
    const message = `Secret ${secretName} covers ${certificateNames(app, space).join(', ')}; it expires at ${iso(notAfter)} (the user renews it)`;
    return {
      tls: { ...tls, notAfter: iso(notAfter) },
      condition: cond('True', 'UserSecret', message),
      requeueAfter: Math.min(USER_SECRET_RECHECK_MS, notAfter - now),
    };
  }

  async #judgeCertManager(app: AppObj, space: SpaceObj, issuer: CertManagerIssuer): Promise<AppResult> {
    const secretName = tlsSecretName(app);
    const tls = { mode: 'operator' as const, secretName };
    try {
      await this.#applier.apply(
        certManagerCertificate(app, space.metadata.name, certificateNames(app, space), issuer),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return {
        tls,
        condition: cond(
          'False',
          'CertManagerMissing',
          'cert-manager.io/v1 Certificate is not served: install cert-manager or run without --tls-issuer',
        ),
      };
    }
    const cert = keyedCertOf(await readObject<V1Secret>(this.#api, 'Secret', ns(app), secretName));
    if (!cert)
      return {
        tls,
        condition: cond('Unknown', 'Issuing', `waiting for cert-manager to write Secret ${secretName}`),
      };
    const { notAfter } = validity(cert.cert);
    certificateExpiry().set({ namespace: ns(app), name: secretName }, Math.floor(notAfter / 1000));
    return {
      tls: { ...tls, notAfter: iso(notAfter) },
      condition: cond(
        'True',
        'CertManager',
        `issued by ${issuer.kind} ${issuer.name}; cert-manager renews it`,
      ),
    };
  }

  /**
   * Mode operator: the Secret from the Space's CA, issued or renewed when due. `read`: read the
   * Secret first. An App that never had a certificate (no status.tls.notAfter) has none yet, nearly
   * always: its Secret is created without the GET that would answer 404 (one request in ten of a
   * burst of new Apps). A create never replaces: when one is there (409), it is read and judged
   * as before (SecretNotOwned, or ours and kept).
   */
  async #issue(
    app: AppObj,
    space: SpaceObj,
    read = this.#mayHaveSecret(app),
  ): Promise<AppResult | undefined> {
    const secretName = tlsSecretName(app);
    const tls = { mode: 'operator' as const, secretName };
    const ca = caStateOf(this.#caSecretLive(space.metadata.name));
    if (!ca) {
      this.#ctl.enqueue(`space:${space.metadata.name}`);
      return {
        tls,
        condition: cond('Unknown', 'WaitingForCA', `waiting for the CA of Space ${space.metadata.name}`),
      };
    }
    const unchanged = read ? await this.#unchanged(app, space, ca) : undefined;
    if (unchanged) return unchanged;
    const live = read ? await readObject<V1Secret>(this.#api, 'Secret', ns(app), secretName) : undefined;
    if (live && !ownedBy(live, app.metadata.uid)) {
      const message = `spec.tls.secretName: Secret ${ns(app)}/${secretName} exists and was not created by spaces-operator for this App: it is never overwritten; delete it, set spec.tls.secretName to another name, or use spec.tls.mode secret`;
      return { tls, condition: cond('False', 'SecretNotOwned', message) };
    }
    const result = await this.#keepIssued(app, space, ca, live);
    if (!read && result.condition.reason === CONFLICT) return this.#issue(app, space, true);
    return result;
  }

  /**
   * The last good judgement of the App's Secret, again, when nothing it rested on changed: the
   * Secret's resourceVersion (read with its metadata only), the App, its names, the CA bundle, and
   * the certificate not yet due. The drift re-read of an untouched Secret then moves no key or
   * certificate and parses and verifies nothing.
   */
  async #unchanged(app: AppObj, space: SpaceObj, ca: CaState): Promise<AppResult | undefined> {
    const key = keyOf(app);
    const kept = this.#reports.get(key);
    const judged = kept?.judged;
    const now = this.#clock.now();
    if (!kept || !judged || now >= judged.due) return undefined;
    if (judged.basis !== basisOf(app, certificateNames(app, space), caBundle(ca, now))) return undefined;
    const version = await readVersion(this.#api, 'Secret', ns(app), tlsSecretName(app));
    tlsSecretRechecks.inc({ result: version === judged.version ? 'unchanged' : 'changed' });
    if (version !== judged.version) return undefined;
    return {
      tls: kept.tls,
      condition: kept.condition,
      judged,
      requeueAfter: Math.min(judged.due - now, recheckDelayMs(key, this.#recheckMs())),
    };
  }

  /** The App's Secret, issued again when due (servingReason) and given the current bundle. */
  async #keepIssued(
    app: AppObj,
    space: SpaceObj,
    ca: CaState,
    live: V1Secret | undefined,
  ): Promise<AppResult> {
    const now = this.#clock.now();
    const names = certificateNames(app, space);
    const bundle = caBundle(ca, now);
    let leaf: KeyedCert | undefined = keyedCertOf(live);
    const reason = servingReason(leaf, ca.current, names, now);
    if (reason)
      leaf = await issueServingCert(ca.current, { names, now, lifetimeMs: this.#o.servingLifetimeMs });
    const written =
      reason || bundleOf(live) !== bundle
        ? await this.#writeServing(app, servingSecret(app, space.metadata.name, leaf!, bundle), live, reason)
        : { version: live?.metadata?.resourceVersion };
    if (!written)
      return {
        tls: { mode: 'operator', secretName: tlsSecretName(app) },
        condition: cond('Unknown', CONFLICT, 'the Secret changed while writing it'),
        requeueAfter: 1000,
      };
    const { version } = written;
    return this.#issued(app, leaf!, names, now, { version, bundle });
  }

  /** Writes the App's Secret (its new resourceVersion); undefined when it changed since it was read (409: judged again). */
  async #writeServing(
    app: AppObj,
    desired: V1Secret,
    live: V1Secret | undefined,
    reason: ServingReason | undefined,
  ): Promise<{ version: string | undefined } | undefined> {
    // The first issuance is told by the status (Certificate condition, status.tls), not by an
    // Event: one per App would double the API writes of a burst for nothing to notice. A
    // renewal, a re-issue and a repaired or deleted Secret are Events.
    const event = reason === 'missing' && app.status?.tls?.notAfter === undefined ? undefined : reason;
    let version: string | undefined;
    try {
      version = await createOrReplace(this.#api, desired, live);
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
    this.#created.add(keyOf(app));
    if (event)
      await this.#c.events.emit(app, {
        reason: 'CertificateIssued',
        action: 'IssueCertificate',
        note: `Secret ${desired.metadata?.name}: ${event}`,
      });
    return { version };
  }

  /**
   * What an issued certificate reports; next run at its renewal or the drift re-read, whichever is
   * first. Carries the judgement (`Judged`) when the Secret's resourceVersion is known.
   */
  #issued(
    app: AppObj,
    leaf: KeyedCert,
    names: string[],
    now: number,
    secret: { version: string | undefined; bundle: string },
  ): AppResult {
    const secretName = tlsSecretName(app);
    const { notAfter } = validity(leaf.cert);
    const due = renewAt(leaf.cert);
    certificateExpiry().set({ namespace: ns(app), name: secretName }, Math.floor(notAfter / 1000));
    const message = `Secret ${secretName} for ${names.join(', ')}, valid until ${iso(notAfter)}, renewed at ${iso(due)}`;
    const judged = secret.version
      ? { version: secret.version, basis: basisOf(app, names, secret.bundle), due }
      : undefined;
    return {
      tls: { mode: 'operator', secretName, notAfter: iso(notAfter), renewAt: iso(due) },
      condition: cond('True', 'Issued', message),
      ...(judged ? { judged } : {}),
      requeueAfter: Math.min(due - now, recheckDelayMs(keyOf(app), this.#recheckMs())),
    };
  }

  /** Whether the App may have its Secret already: it reported one, or this process created it. */
  #mayHaveSecret(app: AppObj): boolean {
    return app.status?.tls?.notAfter !== undefined || this.#created.has(keyOf(app));
  }

  #recheckMs(): number {
    return recheckMs(this.#c.informers.apps.size, this.#o.secretRecheckMs);
  }

  /**
   * The Secret this controller reported last (status.tls.secretName), when the App no longer uses
   * it (mode or name changed): deleted if it is ours, left alone if not (a user's stays theirs).
   */
  async #dropStaleSecret(app: AppObj, space: SpaceObj): Promise<void> {
    const previous = app.status?.tls?.secretName;
    const inUse = tlsMode(app) === 'none' ? undefined : tlsSecretName(app);
    if (!previous || previous === inUse) return;
    await this.#ensureAccess(space);
    const old = await readObject<V1Secret>(this.#api, 'Secret', ns(app), previous);
    if (old && ownedBy(old, app.metadata.uid)) await deleteExactly(this.#api, old);
    certificateExpiry().remove({ namespace: ns(app), name: previous });
  }

  /**
   * Keeps the report for the App's status; queues the App reconcile when its status does not show
   * it and no reconcile waits for this judgement (that one writes it).
   */
  #publish(key: string, app: AppObj, r: AppResult): void {
    const generation = app.metadata.generation;
    const kept: Kept = { uid: app.metadata.uid, generation, tls: r.tls, condition: r.condition };
    if (r.judged) kept.judged = r.judged;
    this.#reports.set(key, kept);
    const had = app.status?.conditions?.find((c) => c.type === CONDITION);
    if (sameCondition(had, r.condition, generation) && deepEqual(app.status?.tls, r.tls)) return;
    if (!this.#ctl.queue.awaited(`app:${key}`)) this.#onReport(key);
  }
}

/** The condition already says `want`, for this generation. */
function sameCondition(had: Condition | undefined, want: CondInput, generation: number | undefined): boolean {
  return (
    had !== undefined &&
    had.status === want.status &&
    had.reason === want.reason &&
    had.message === want.message &&
    had.observedGeneration === generation
  );
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function cond(status: Condition['status'], reason: string, message: string): CondInput {
  return { type: CONDITION, status, reason, message };
}

/**
 * An App whose status does not hold a report of this controller for its generation: written before
 * a report (the wait ran out), or dropped by another writer's merge patch.
 */
function lostOurStatus(app: App): boolean {
  if (tlsMode(app) === 'none') return false;
  const ours = app.status?.conditions?.find((c) => c.type === CONDITION);
  const stale =
    ours?.observedGeneration !== undefined &&
    app.metadata.generation !== undefined &&
    ours.observedGeneration < app.metadata.generation;
  return app.status?.tls === undefined || !ours || stale;
}

/** The controller as the operator registers it (leader only: started and stopped with the others). */
export function tlsController(
  c: Ctx,
  api: KubeApi,
  o: TlsOptions = {},
  onReport?: (key: string) => void,
): TlsController {
  return new TlsController(c, api, o, onReport);
}

export type { CaState };

/** The Space (= namespace) a key concerns. */
function spaceOfKey(key: string): string {
  return key.startsWith('space:') ? key.slice('space:'.length) : splitKey(key.slice('app:'.length)).namespace;
}

/** An RBAC subject from a username: `system:serviceaccount:<ns>:<name>` or a plain User. */
export function subjectOf(username: string): { kind: string; namespace?: string; name: string } {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (m) return { kind: 'ServiceAccount', namespace: m[1]!, name: m[2]! };
  return { kind: 'User', name: username };
}
