// A list+watch that keeps going: client-node's informer stops on an error (an apiserver
// restart, a dropped connection); this restarts it after a second until the owner stops.
import * as k8s from '@kubernetes/client-node';

export function keepWatching<T extends k8s.KubernetesObject>(
  informer: k8s.Informer<T>,
  stopped: () => boolean,
  log: (line: string) => void,
): void {
  informer.on(k8s.ERROR, (err) => {
    if (stopped()) return;
    log(`watch error, restarting: ${String(err)}`);
    setTimeout(() => {
      if (!stopped()) informer.start().catch(() => undefined);
    }, 1000);
  });
}
