// `--always-write` (bench: --floor-always-write): the floor writes as the Go peer does, every
// child and every status on every reconcile (the controller-runtime idiom), so that the floor and
// the peer send the same requests. The engine's Applier then gets no caches (with none it always
// writes), and statuses are server-side applied to /status by `StatusApplier`, as the peer's
// applyStatus does: the engine's StatusWriter (a merge patch, skipped when the status is
// unchanged) has no switch to always write.
import type { KubernetesObject } from '@kubernetes/client-node';
import { FIELD_MANAGER, type KubeClient } from '../../src/engine/index.ts';
import { applyRequest } from '../../src/engine/kubeclient.ts';
import { statusPatchTotal } from '../../src/engine/metrics.ts';

/** What the floor's reconcilers need of a status writer (the engine's StatusWriter is one). */
export interface StatusSink {
  patchStatus(obj: KubernetesObject, status: object): Promise<unknown>;
}

export class StatusApplier implements StatusSink {
  readonly #api: KubeClient;

  constructor(api: KubeClient) {
    this.#api = api;
  }

  async patchStatus(obj: KubernetesObject, status: object): Promise<void> {
    const { apiVersion = '', kind = '', metadata } = obj;
    const name = metadata?.name ?? '';
    const namespace = metadata?.namespace;
    const path = await this.#api.resourcePath({ apiVersion, kind, name, namespace });
    const body = { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, status };
    await this.#api.request(applyRequest(`${path}/status`, body, FIELD_MANAGER));
    statusPatchTotal.inc({ result: 'written' });
  }
}
