// What the App and NetworkPolicy indexes of one namespace cost per App created, as the operator
// looks them up on each App event (the watch's appsSharingPods, the reconcile's policies for a
// pod): the namespace's Apps and policies grow by one each time. Prints µs per App created.
// Usage: node bench/indexes.ts [N ...] (default 1000 5000)
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { App } from '../src/api/v1alpha1/app.ts';
import { namespaceAppIndex } from '../src/controllers/app/appindex.ts';
import { appsSharingPods } from '../src/controllers/app/watches.ts';
import { PerNamespace } from '../src/engine/pernamespace.ts';
import { APP_LABEL } from '../src/model/index.ts';
import { policyIndex as policiesByPair } from '../src/reach/policyindex.ts';

const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length > 0 ? sizes : [1000, 5000]) {
  let apps: App[] = [];
  let policies: V1NetworkPolicy[] = [];
  const appIndex = namespaceAppIndex({ list: () => [...apps] });
  const policyIndex = new PerNamespace(
    () => [...policies],
    (list: readonly V1NetworkPolicy[]) => policiesByPair(list),
    { extend: (ix, list, from) => ix.extendedTo(list, from) },
  );
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const name = `app-${i}`;
    const app = { metadata: { name, namespace: 'acme', uid: `u${i}`, generation: 1 }, spec: { port: 80 } };
    apps = [...apps, app as unknown as App];
    appsSharingPods(appIndex.of('acme'), app as unknown as App);
    const podSelector = { matchLabels: { [APP_LABEL]: name } };
    policies = [...policies, { metadata: { name, namespace: 'acme' }, spec: { podSelector } }];
    policyIndex.of('acme').selecting({ [APP_LABEL]: name });
  }
  const us = ((performance.now() - started) / n) * 1000;
  console.log(`${n} Apps created in one namespace: ${us.toFixed(1)} µs per App (index lookups)`);
}
