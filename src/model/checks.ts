// Small syntactic checks shared by the validators. Each returns undefined when fine, else a
// message that says what is wrong and shows a correct example.
import {
  canonicalCidr,
  canonicalCidrForm,
  isCanonicalCidr,
  isIpv4Cidr,
  isRfc1918,
  nonCanonicalCidrProblem,
} from './cidr.ts';
import type { FieldError } from './types.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** RFC 1123 label: at most 63 lower-case letters, digits and -, alphanumeric at both ends. */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

/** RFC 1035 label, as Service names need: like a DNS label, but starting with a letter. */
export function isServiceName(s: string): boolean {
  return s.length <= 63 && DNS_1035_LABEL.test(s);
}

export function checkDnsName(name: string): string | undefined {
  if (name.length > 0 && name.length <= 253 && name.split('.').every(isDnsLabel)) return undefined;
  return `"${name}" is not a DNS name; use lower-case labels of letters, digits and - separated by dots, such as billing.acme.example`;
}

export interface CidrRules {
  /** Require the whole range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16. */
  rfc1918: boolean;
}

export function checkCidr(cidr: string, example: string, rules: CidrRules): string | undefined {
  // 010.0.0.0/8 or 10.0.0.0/08: a CIDR, but not as Kubernetes and ipset read it alike.
  if (/(^|[./])0\d/.test(cidr) && canonicalCidrForm(cidr) !== undefined) return nonCanonicalCidrProblem(cidr);
  if (!isIpv4Cidr(cidr)) return `"${cidr}" is not an IPv4 CIDR; write it like ${example}`;
  if (!isCanonicalCidr(cidr)) {
    return `${cidr} has host bits set; write the network address ${canonicalCidr(cidr)}`;
  }
  if (rules.rfc1918 && !isRfc1918(cidr)) {
    return `${cidr} is not a private range; use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918)`;
  }
  return undefined;
}

function checkLabelKey(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.pop() ?? '';
  const prefix = parts.join('/');
  const prefixOk =
    parts.length === 0 || (parts.length === 1 && prefix.length <= 253 && checkDnsName(prefix) === undefined);
  if (prefixOk && name.length <= 63 && LABEL_NAME.test(name)) return undefined;
  return `"${key}" is not a label key; use [prefix/]name, such as privatespaces.dev/app`;
}

/** matchLabels must be non-empty (an empty selector picks every pod of the Space) and well-formed. */
export function checkLabels(labels: Readonly<Record<string, string>>, field: string): FieldError[] {
  const entries = Object.entries(labels);
  if (entries.length === 0) {
    return [
      {
        field,
        message: 'an empty selector would pick every pod of the Space; name the labels of the web pods',
      },
    ];
  }
  const errors: FieldError[] = [];
  for (const [key, value] of entries) {
    const keyProblem = checkLabelKey(key);
    if (keyProblem) errors.push({ field, message: keyProblem });
    if (value.length > 63 || !LABEL_VALUE.test(value)) {
      errors.push({
        field: `${field}[${key}]`,
        message: `"${value}" is not a label value (at most 63 letters, digits, -, _ and .)`,
      });
    }
  }
  return errors;
}
