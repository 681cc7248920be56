// The `ports` of a NetworkPolicy ingress rule: absent or empty = every port of every protocol; each entry
// admits one protocol (default TCP) and either every port (`port` absent), one port, a range (`endPort`),
// or a named port, which means the container port of that name and protocol on the selected pod.
import type { V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { ContainerPortInfo, PortRange } from './types.ts';

export const DEFAULT_PROTOCOL = 'TCP';
const MIN_PORT = 1;
const MAX_PORT = 65535;

/**
 * The rule's ports. With `podPorts` given, named ports are resolved against them (a name and protocol
 * that no container port carries admits nothing); without, they stay names.
 */
export function resolvePorts(
  ports: readonly V1NetworkPolicyPort[] | undefined,
  podPorts: readonly ContainerPortInfo[] | undefined,
): PortRange[] | 'all' {
  if (!ports || ports.length === 0) return 'all';
  return ports.flatMap((p) => resolvePort(p, podPorts));
}

function resolvePort(
  p: V1NetworkPolicyPort,
  podPorts: readonly ContainerPortInfo[] | undefined,
): PortRange[] {
  const protocol = p.protocol ?? DEFAULT_PROTOCOL;
  if (p.port === undefined || p.port === null) return [{ protocol, port: MIN_PORT, endPort: MAX_PORT }];
  if (typeof p.port === 'number') return [{ protocol, port: p.port, endPort: p.endPort ?? p.port }];
  const name = p.port;
  if (!podPorts) return [{ protocol, name }];
  return podPorts
    .filter((c) => c.name === name && (c.protocol ?? DEFAULT_PROTOCOL) === protocol)
    .map((c) => ({ protocol, port: c.containerPort, endPort: c.containerPort }));
}

/**
 * Whether the ports admit a connection to `port` over `protocol` (default TCP). Without a port: whether
 * they admit any port of that protocol. A number never matches an unresolved named port; a name matches
 * only an unresolved named port of that name.
 */
export function portsAdmit(
  ports: readonly PortRange[] | 'all',
  port?: number | string,
  protocol?: string,
): boolean {
  if (ports === 'all') return true;
  const proto = (protocol ?? DEFAULT_PROTOCOL).toUpperCase();
  return ports.some((r) => r.protocol === proto && rangeAdmits(r, port));
}

function rangeAdmits(r: PortRange, port: number | string | undefined): boolean {
  if (port === undefined) return true;
  if ('name' in r) return r.name === port;
  return typeof port === 'number' && r.port <= port && port <= r.endPort;
}

/** `80/TCP`, `8000-8080/TCP`, `http/TCP`, `*\/UDP` (every port of the protocol); `all` for every port. */
export function formatPorts(ports: readonly PortRange[] | 'all'): string {
  if (ports === 'all') return 'all';
  return ports.map(formatRange).join(',');
}

function formatRange(r: PortRange): string {
  if ('name' in r) return `${r.name}/${r.protocol}`;
  if (r.port === MIN_PORT && r.endPort === MAX_PORT) return `*/${r.protocol}`;
  return r.port === r.endPort ? `${r.port}/${r.protocol}` : `${r.port}-${r.endPort}/${r.protocol}`;
}
