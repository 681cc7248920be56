// App.spec.tls and App.status.tls: private TLS for an App's names (issue 19). The operator issues
// a serving certificate from its Space's own CA (or uses the user's Secret) and reports it here.
import { Type, type Static } from '@sinclair/typebox';
import { DNS_NAME_PATTERN, StringEnum, cel } from './common.ts';

export const TLS_MODES = ['operator', 'secret', 'none'] as const;

export const AppTlsSchema = Type.Object(
  {
    mode: Type.Optional(
      StringEnum(TLS_MODES, {
        description:
          "operator: a serving certificate for exactly the App's names, issued by its Space's private CA and " +
          "renewed by the operator; secret: the user's own kubernetes.io/tls Secret (spec.tls.secretName), " +
          "checked to cover the App's names; none: no certificate. Default: operator for internal apps, none " +
          'for external ones.',
      }),
    ),
    secretName: Type.Optional(
      Type.String({
        description:
          "The kubernetes.io/tls Secret in the App's namespace. Required with mode secret. With mode operator it " +
          'names the Secret the operator writes (default <app>-tls); the operator never overwrites a Secret it ' +
          'did not create.',
        minLength: 1,
        maxLength: 253,
        pattern: DNS_NAME_PATTERN,
      }),
    ),
  },
  {
    description:
      "TLS for the App's names. Clients verify against the Space's CA bundle: ConfigMap privatespaces-ca, key ca.crt.",
    ...cel({
      rule: "!has(self.mode) || self.mode != 'secret' || has(self.secretName)",
      fieldPath: '.secretName',
      message:
        'spec.tls.secretName is required when spec.tls.mode is secret: name your kubernetes.io/tls Secret',
    }),
  },
);

export const AppTlsStatusSchema = Type.Object(
  {
    mode: StringEnum(TLS_MODES, { description: 'The mode in effect (spec.tls.mode or its default).' }),
    secretName: Type.Optional(Type.String({ description: 'The Secret holding the certificate.' })),
    notAfter: Type.Optional(Type.String({ description: 'When the certificate expires (RFC 3339).' })),
    renewAt: Type.Optional(
      Type.String({ description: 'When the operator renews it: at 2/3 of its lifetime (RFC 3339).' }),
    ),
  },
  { description: "The App's certificate as the operator last saw it." },
);

export type AppTls = Static<typeof AppTlsSchema>;
export type AppTlsStatus = Static<typeof AppTlsStatusSchema>;
