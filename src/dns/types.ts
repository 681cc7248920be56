// Input and output of the pure CoreDNS rendering (see README.md for the design).

/** One App as DNS sees it. */
export interface DnsApp {
  name: string;
  namespace: string;
  /** The Service's ClusterIP; empty (or `None`) while the Service has none: nothing is published. */
  clusterIP: string;
  /** The names the model gives the app (`appDnsNames`): default domain, custom domains, `web.<app>.app.localspace`. */
  names: string[];
  /** True while the web process has at least one ready endpoint. */
  ready: boolean;
  /** `metadata.creationTimestamp` (RFC 3339): the older App wins a contested name. */
  created?: string;
  /**
   * DNS discovery (absent or empty: off): each process and its live pods. Discovery names
   * (`<process>.<app>.app.localspace`, `<n>.<process>…`) answer with pod IPs, never the ClusterIP.
   */
  processes?: DnsProcess[];
}

/** One process type of an App with discovery on. */
export interface DnsProcess {
  name: string;
  pods: DnsPod[];
}

/** A live pod (not finished, not being deleted) of a process. */
export interface DnsPod {
  name: string;
  /** status.podIP; empty while it has none. */
  ip: string;
  /** The pod's Ready condition is True (and it has an IP). */
  ready: boolean;
}

/** One numbered pod of a process, as rendered: `<n>.<process>.<app>.app.localspace`. */
export interface DnsInstance {
  process: string;
  /** 1-based; kept by the pod for its life, a new pod takes the lowest free number. */
  n: number;
  pod: string;
  ip: string;
  ready: boolean;
}

/** One Space and its Apps. */
export interface DnsSpace {
  space: string;
  /** The Space's namespace: only pods of this namespace get the Space's answers (CoreDNS `view`). Default `space`. */
  namespace?: string;
  /** The Space's DNS domain (`<app>.<dnsDomain>` is each app's default domain). */
  dnsDomain: string;
  /** `metadata.creationTimestamp`: the older Space wins a contested domain. */
  created?: string;
  apps: DnsApp[];
}

export interface RenderOptions {
  /** Where CoreDNS sees the ConfigMap's keys as files. Default `/etc/coredns/custom` (k3s, AKS). */
  dir?: string;
  /** Where names below a custom domain that are not ours are forwarded. Default `/etc/resolv.conf`. */
  upstream?: string[];
  /** The cluster's DNS domain; no name may be in it or above it. Default `cluster.local`. */
  clusterDomain?: string;
  /** Zones already served by other server blocks (another `*.server` key): never served twice. */
  foreignZones?: string[];
  /** TTL of answers and of negative answers, seconds. Default 5. */
  ttl?: number;
  /** How often the hosts plugin checks its file. Default `2s`. */
  hostsReload?: string;
  /** Budget in bytes for our keys (names + values). Default 1 MiB, the ConfigMap limit. */
  maxBytes?: number;
  /**
   * Suffixes a Space's explicit dnsDomain and an App's custom domains must fall under (the
   * platform admin's `--allowed-dns-suffixes`); a custom domain under the Space's own domain is
   * always allowed, as is the default `<space>.spaces.local`. Undefined: not checked here (the
   * webhook's check only); [] allows no suffix at all.
   */
  allowedSuffixes?: readonly string[];
  /**
   * The `kubernetes` plugin that tells each Space's view the client pod's namespace
   * (`pods verified`). `kubeconfig`: out of cluster (harness); default in-cluster credentials.
   */
  kubernetes?: { kubeconfig?: string; context?: string };
  /**
   * The live ConfigMap's data (our keys are read, others ignored): the instance numbers already
   * given (kept as comments in each Space's hosts key) and the TXT zones' serials. So numbers
   * stay with their pods across renders and operator restarts, and a changed zone gets a higher
   * serial (the `file` plugin reloads only then).
   */
  previous?: Record<string, string>;
}

export type ConflictReason =
  | 'invalid-name' // not a lower-case DNS name of two labels or more
  | 'reserved' // in or above the cluster domain, *.arpa, localhost, or a foreign zone
  | 'domain-taken' // a Space's dnsDomain equal to, inside or above an older Space's (or app.localspace)
  | 'foreign-domain' // inside another Space's dnsDomain, or another app's part of one / of app.localspace
  | 'name-taken' // an older App already has this name
  | 'not-allowed' // not under a suffix the platform admin allows (allowedSuffixes)
  | 'capacity'; // the Space's share of the ConfigMap budget is spent (its older apps came first)

/** A name (or a whole Space domain) that is not served, and why. */
export interface DnsConflict {
  reason: ConflictReason;
  /** The refused name (or dnsDomain). */
  name: string;
  space: string;
  /** `namespace/name` of the App; absent for a Space's domain. */
  app?: string;
  /** `namespace/name` of the App (or the Space) that holds the name, when another does. */
  heldBy?: string;
  message: string;
  /** Why, without the App and the name (for the App's own status). */
  why?: string;
}

export interface RenderResult {
  /** The ConfigMap `data` to own (keys in KEYS). */
  data: Record<string, string>;
  /** Bytes of `data` as the API server counts them (keys + values). */
  bytes: number;
  /** `namespace/name` → names answered right now (only ready apps with a ClusterIP). */
  published: Record<string, string[]>;
  conflicts: DnsConflict[];
  /** Every rendered App (`namespace/name`): the names it answers for now, and those it cannot have. */
  names: Record<string, AppNames>;
  /** Bytes each Space may spend on its Apps (its share of the budget), by Space name. */
  shares: Record<string, number>;
  /** `namespace/name` → numbered pods of every process (discovery on, within budget), by process then n. */
  instances: Record<string, DnsInstance[]>;
}

/** Why an App cannot have a name, as its `Names` condition reports it. */
export type NamesReason = 'NameConflict' | 'NotAllowed' | 'OverBudget';

export interface RefusedName {
  name: string;
  /** What is wrong and what to do (a sentence). */
  reason: string;
  /** The condition reason this refusal maps to. */
  code: NamesReason;
}

/** What DNS says about one App: `published` = names answered right now (for `status.names`). */
export interface AppNames {
  published: string[];
  refused: RefusedName[];
}
