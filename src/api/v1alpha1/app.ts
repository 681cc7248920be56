// App: one application of a Space, in the Space's namespace. The operator gives it a Service
// (ClusterIP only when internally routed, otherwise a LoadBalancer limited to the trusted IP
// ranges), a NetworkPolicy admitting exactly who may reach it, and DNS names.
import { Type, type Static } from '@sinclair/typebox';
import {
  Conditions,
  DNS_LABEL_PATTERN,
  DNS_NAME_PATTERN,
  ObservedGeneration,
  StringEnum,
  cel,
  immutable,
  ResourceSchema,
} from './common.ts';
import {
  DEFAULT_APP_PORT,
  MAX_APP_DOMAINS,
  MAX_APP_PROCESSES,
  REACH_KINDS,
  INTERNAL_ROUTING_IMMUTABLE,
} from './constants.ts';
import { AppTlsSchema, AppTlsStatusSchema } from './tls.ts';

export const AppSelectorSchema = Type.Object(
  {
    matchLabels: Type.Record(
      Type.String(),
      Type.String({ maxLength: 63, description: 'Label value (at most 63 characters).' }),
      {
        description: 'Labels the pods of the web process carry; all must match.',
        minProperties: 1,
        maxProperties: 16,
      },
    ),
  },
  {
    description:
      'Pods of the web process. Default: matchLabels {privatespaces.dev/app: <app name>}. Must not be empty: ' +
      'an empty selector would select every pod of the Space.',
  },
);

// One process type of the App (Heroku's web, worker, ...): its pods and, for web only, its port.
export const AppProcessSchema = Type.Object(
  {
    name: Type.String({
      description:
        'Process type, a DNS label (web, worker, ...). Only web gets the Service, the router-facing names and ' +
        'the Internal Routing policy; every process gets DNS discovery names when spec.dnsDiscovery is on.',
      minLength: 1,
      maxLength: 63,
      pattern: DNS_LABEL_PATTERN,
    }),
    selector: Type.Optional(
      Type.Object(
        { matchLabels: AppSelectorSchema.properties.matchLabels },
        {
          description:
            "The process's pods. Default: matchLabels {privatespaces.dev/app: <app>, privatespaces.dev/process: " +
            '<name>}. Must not overlap the selector of another process or of another App of the Space.',
        },
      ),
    ),
    port: Type.Optional(
      Type.Integer({
        description: 'Only for web: the port it listens on ($PORT). Wins over spec.port when both are given.',
        minimum: 1,
        maximum: 65535,
      }),
    ),
  },
  {
    ...cel({
      rule: "!has(self.port) || self.name == 'web'",
      fieldPath: '.port',
      message:
        'spec.processes[].port is only for the web process: other processes are reached on any port through DNS ' +
        'discovery; remove it',
    }),
  },
);

export const AppSpecSchema = Type.Object(
  {
    internalRouting: Type.Boolean({
      description:
        'Internal Routing: when true the web process is reachable only from other apps of the same Space and ' +
        'from peered or VPN-connected networks, never from the internet; the app gets a private ClusterIP ' +
        'Service and its domains resolve to it. Chosen at creation and can never be turned on or off. ' +
        'Not available in fir spaces, nor together with spec.acm. Default false.',
      default: false,
      ...cel(immutable(INTERNAL_ROUTING_IMMUTABLE)),
    }),
    selector: Type.Optional(AppSelectorSchema),
    processes: Type.Optional(
      Type.Array(AppProcessSchema, {
        description:
          'Process types of the App (web at most once, names unique). Without it, spec.selector and spec.port ' +
          "describe one web process (the older form). Not together with spec.selector; the web entry's port " +
          `wins over spec.port. At most ${MAX_APP_PROCESSES}.`,
        maxItems: MAX_APP_PROCESSES,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    port: Type.Integer({
      description:
        'Port the web process listens on ($PORT); the Service exposes the same port. Default 5000.',
      default: DEFAULT_APP_PORT,
      minimum: 1,
      maximum: 65535,
    }),
    domains: Type.Optional(
      Type.Array(
        Type.String({
          description: 'A custom domain (DNS name, lower case).',
          minLength: 1,
          maxLength: 253,
          pattern: DNS_NAME_PATTERN,
        }),
        {
          description:
            'Custom domains of the app. For an internal app they resolve to its private ClusterIP inside the ' +
            `Space. At most ${MAX_APP_DOMAINS}.`,
          maxItems: MAX_APP_DOMAINS,
          'x-kubernetes-list-type': 'set',
        },
      ),
    ),
    acm: Type.Boolean({
      description:
        'Automated Certificate Management for the custom domains. Incompatible with Internal Routing (a ' +
        'certificate authority cannot validate a private name). Default false.',
      default: false,
    }),
    dnsDiscovery: Type.Optional(
      Type.Boolean({
        description:
          "DNS service discovery: pods of the Space reach this app's pods directly (any port, TCP and UDP, no " +
          'router) at <process>.<app>.app.localspace (every ready pod) and <n>.<process>.<app>.app.localspace ' +
          '(one pod, numbered from 1). Unset means on in cedar spaces; fir spaces refuse true. Set false to ' +
          'turn it off.',
      }),
    ),
    tls: Type.Optional(AppTlsSchema),
  },
  {
    description: 'Desired state of the App.',
    default: {},
    ...cel(
      {
        rule: '!(has(self.acm) && self.acm && has(self.internalRouting) && self.internalRouting)',
        fieldPath: '.acm',
        message:
          'spec.acm cannot be true when spec.internalRouting is true: a certificate authority cannot validate a ' +
          'private name; set spec.acm to false and use a custom certificate',
      },
      {
        rule: '!(has(self.processes) && has(self.selector))',
        fieldPath: '.selector',
        message:
          'spec.selector cannot be given together with spec.processes: move it to the web entry of ' +
          'spec.processes (processes[].selector)',
      },
    ),
  },
);

export const ReachSchema = Type.Object({
  source: Type.String({
    description:
      'Who: any, namespace/<name>, namespaceSelector/<selector>, pods/<namespace>/<selector> or cidr/<cidr> [except ...].',
    maxLength: 1024,
  }),
  kind: StringEnum(REACH_KINDS, {
    description: 'What the source is: namespace, namespaceSelector, cidr, pods or any.',
  }),
  ports: Type.Optional(
    Type.String({
      description:
        'Ports reachable, comma-separated, as PROTOCOL/port, PROTOCOL/name or PROTOCOL/from-to; absent means all ports.',
      maxLength: 1024,
    }),
  ),
  policy: Type.String({ description: 'The NetworkPolicy (namespace/name) that admits this source.' }),
});

export const ProcessStatusSchema = Type.Object({
  name: Type.String({ description: 'The process type (web, worker, ...).', maxLength: 63 }),
  ready: Type.Integer({ minimum: 0, description: 'Live pods of the process whose Ready condition is True.' }),
  total: Type.Integer({
    minimum: 0,
    description: 'Live pods of the process (not Succeeded, Failed or being deleted).',
  }),
  discovery: Type.Optional(
    Type.String({
      description:
        '<process>.<app>.app.localspace: every ready pod of the process; only while DNS discovery is on.',
      maxLength: 253,
    }),
  ),
});

export const AppStatusSchema = Type.Object(
  {
    serviceName: Type.Optional(Type.String({ description: 'The Service fronting the web process.' })),
    clusterIP: Type.Optional(Type.String({ description: "The Service's private ClusterIP." })),
    names: Type.Optional(
      Type.Array(Type.String(), {
        description: 'DNS names that resolve to the app (published while a web pod is ready).',
        maxItems: MAX_APP_DOMAINS + 2,
      }),
    ),
    readyEndpoints: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Ready endpoints of the web process.' }),
    ),
    reachableFrom: Type.Optional(
      Type.Array(ReachSchema, {
        description:
          'Who can open a connection to the web pods, from the union of every NetworkPolicy selecting them.',
        maxItems: 256,
      }),
    ),
    exposed: Type.Optional(
      Type.Boolean({
        description: 'True when anyone outside the Space and its peerings can reach the web pods.',
      }),
    ),
    processes: Type.Optional(
      Type.Array(ProcessStatusSchema, {
        description: 'Per process type (web first, then by name): its live pods and how many are Ready.',
        maxItems: MAX_APP_PROCESSES,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    tls: Type.Optional(AppTlsStatusSchema),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions('App')),
  },
  { description: 'Observed state of the App, written by the operator.' },
);

export const AppSchema = ResourceSchema('App', AppSpecSchema, AppStatusSchema, {
  description: "An application of a Private Space; lives in its Space's namespace.",
  ...cel({
    rule: "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    fieldPath: '.metadata.name',
    message:
      'metadata.name must be a DNS-1035 label (at most 63 lower-case letters, digits and -, starting with a ' +
      "letter) because the App's Service takes its name",
  }),
});

export type AppSelector = Static<typeof AppSelectorSchema>;
export type AppProcessSpec = Static<typeof AppProcessSchema>;
export type AppSpec = Static<typeof AppSpecSchema>;
export type AppStatus = Static<typeof AppStatusSchema>;
export type ProcessStatus = Static<typeof ProcessStatusSchema>;
export type Reach = Static<typeof ReachSchema>;
export type ReachKind = (typeof REACH_KINDS)[number];
export type App = Static<typeof AppSchema>;
