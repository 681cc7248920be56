// `kubectl spaces render -f FILE|DIR [--diff]`: the exact children the operator would apply for
// the Spaces, Apps and Peerings in some files, offline, for reviewing a GitOps change. The same
// pure functions as the reconciler: parse (CRD defaults), validate, spaceChildren, appChildren
// with the Space and the Peerings of the same files (a Peering counts when peeringPhase says
// active). --diff asks the cluster what a server-side apply of each child by the operator's
// field manager would change (dryRun=All, like `kubectl diff`) and prints a unified diff.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import { API_VERSION } from '../api/v1alpha1/constants.ts';
import { parseApp, parsePeering, parseSpace, type SchemaError } from '../api/parse.ts';
import {
  FIELD_MANAGER,
  appChildren,
  peeringPhase,
  spaceChildren,
  spaceNamespaceName,
  validateApp,
  validateSpace,
  platformSettings,
  type PlatformSettings,
  type KubeObject,
  ADOPT_ANNOTATION,
} from '../model/index.ts';
import { unifiedDiff } from './diff.ts';
import { CliError, EXIT, failure, usageError } from './errors.ts';
import { apiFailure, type Kube, type Obj } from './kube.ts';
import { toJson, toYaml, type OutputFormat } from './output.ts';

/** One document and where it came from (`file` or `file#3` for the third document). */
export interface SourcedDoc {
  source: string;
  doc: unknown;
}

interface Sourced<T> {
  source: string;
  value: T;
}

export interface Collected {
  spaces: Sourced<Space>[];
  apps: Sourced<App>[];
  peerings: Sourced<Peering>[];
  /** What the webhook would refuse: `source: Kind ns/name: field: message`. */
  refusals: string[];
  /** Other kinds in the files, which render leaves alone. */
  ignored: string[];
  /** Namespaces in the files that opt in to adoption by their Space (no owner reference). */
  adopted: Set<string>;
}

export interface RenderedObject {
  /** The custom resource it comes from, e.g. `App acme/billing`. */
  from: string;
  object: KubeObject;
}

export interface Rendered {
  objects: RenderedObject[];
  /** Facts the reviewer should see: peerings that do not count, and why. */
  notes: string[];
}

// --- reading files (I/O) ---------------------------------------------------------------------

const MANIFEST = /\.(ya?ml|json)$/i;

/** The documents of one YAML/JSON text; `kind: List` is flattened. Throws on a syntax error. */
export function parseDocuments(text: string, file: string): SourcedDoc[] {
  const out: SourcedDoc[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    const source = i === 0 ? file : `${file}#${i + 1}`;
    if (d.errors.length > 0) {
      throw new CliError(
        `${source}: ${d.errors[0]?.message ?? 'invalid YAML'}`,
        EXIT.error,
        'fix the YAML syntax',
      );
    }
    const doc: unknown = d.toJS();
    if (doc === null || doc === undefined) return;
    const items =
      (doc as { kind?: string; items?: unknown[] }).kind === 'List'
        ? (doc as { items?: unknown[] }).items
        : [doc];
    for (const item of items ?? []) out.push({ source, doc: item });
  });
  return out;
}

async function filesOf(p: string, recursive: boolean, top: boolean): Promise<string[]> {
  const info = await stat(p).catch((err: unknown) => {
    throw failure(`cannot read ${p}: ${(err as Error).message}`, 'pass an existing file or folder to -f');
  });
  if (!info.isDirectory()) return top || MANIFEST.test(p) ? [p] : [];
  if (!top && !recursive) return [];
  const entries = (await readdir(p)).sort();
  const nested = await Promise.all(entries.map((e) => filesOf(path.join(p, e), recursive, false)));
  return nested.flat();
}

/** Every document of the files and folders (a folder: its .yaml/.yml/.json files; -R: and below). */
export async function readManifests(
  paths: readonly string[],
  recursive: boolean,
  stdin?: () => Promise<string>,
): Promise<SourcedDoc[]> {
  if (paths.length === 0)
    throw usageError('render needs -f FILE|DIR', 'for example: kubectl spaces render -f examples/');
  const docs: SourcedDoc[] = [];
  for (const p of paths) {
    if (p === '-') {
      docs.push(...parseDocuments(await (stdin ?? readStdin)(), '<stdin>'));
      continue;
    }
    for (const file of await filesOf(p, recursive, true)) {
      docs.push(...parseDocuments(await readFile(file, 'utf8'), file));
    }
  }
  return docs;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// --- collecting and validating (pure) ------------------------------------------------------

function nameOf(doc: unknown): string {
  const m = (doc as { metadata?: { name?: string; namespace?: string } }).metadata;
  return m?.namespace ? `${m.namespace}/${m.name ?? '?'}` : (m?.name ?? '?');
}

function schemaLines(source: string, what: string, errors: readonly SchemaError[]): string[] {
  return errors.map((e) => `${source}: ${what}: ${e.field || '(object)'}: ${e.message}`);
}

const PARSERS = { Space: parseSpace, App: parseApp, Peering: parsePeering } as const;
type OurKind = keyof typeof PARSERS;

function isOurKind(kind: unknown): kind is OurKind {
  return typeof kind === 'string' && Object.hasOwn(PARSERS, kind);
}

/** A v1 Namespace whose own manifest opts in to adoption by the Space of its name. */
function adoptsItself(doc: unknown): boolean {
  const d = doc as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; annotations?: Record<string, unknown> };
  };
  return (
    d?.apiVersion === 'v1' &&
    d.kind === 'Namespace' &&
    d.metadata?.annotations?.[ADOPT_ANNOTATION] === d.metadata?.name
  );
}

/** Sorts the documents into Spaces, Apps and Peerings (defaulted), with the schema refusals. */
export function collect(docs: readonly SourcedDoc[]): Collected {
  const c: Collected = { spaces: [], apps: [], peerings: [], refusals: [], ignored: [], adopted: new Set() };
  const seen = new Map<string, string>();
  for (const { source, doc } of docs) {
    const { apiVersion, kind } = (doc ?? {}) as { apiVersion?: unknown; kind?: unknown };
    const what = `${String(kind)} ${nameOf(doc)}`;
    if (apiVersion !== API_VERSION || !isOurKind(kind)) {
      if (adoptsItself(doc)) c.adopted.add(nameOf(doc));
      c.ignored.push(`${source}: ${String(apiVersion)} ${what}`);
      continue;
    }
    const first = seen.get(what);
    if (first) {
      c.refusals.push(`${source}: ${what}: defined twice (first in ${first}); keep one`);
      continue;
    }
    seen.set(what, source);
    addParsed(c, kind, source, doc);
  }
  return c;
}

function addParsed(c: Collected, kind: OurKind, source: string, doc: unknown): void {
  const what = `${kind} ${nameOf(doc)}`;
  const r = PARSERS[kind](doc);
  if (!r.ok) {
    c.refusals.push(...schemaLines(source, what, r.errors));
    return;
  }
  if (kind === 'Space') c.spaces.push({ source, value: r.value as Space });
  else if (kind === 'App') c.apps.push({ source, value: r.value as App });
  else c.peerings.push({ source, value: r.value as Peering });
}

function spaceFor(spaces: readonly Sourced<Space>[], namespace: string | undefined): Space | undefined {
  return spaces.find((s) => spaceNamespaceName(s.value) === namespace)?.value;
}

/**
 * Offline, the cluster's allowed DNS suffixes are unknown: every domain the files name counts as
 * allowed (the cluster's webhook judges them), unless the caller says what the cluster allows.
 */
function offlineSettings(c: Collected, allowedDnsSuffixes?: readonly string[]): PlatformSettings {
  const named = [
    ...c.spaces.flatMap((s) => (s.value.spec.dnsDomain ? [s.value.spec.dnsDomain] : [])),
    ...c.apps.flatMap((a) => a.value.spec.domains ?? []),
  ];
  return platformSettings({ allowedDnsSuffixes: allowedDnsSuffixes ?? named });
}

/** What the webhook would refuse: validateSpace, validateApp against the Space of the same files. */
export function refusals(c: Collected, allowedDnsSuffixes?: readonly string[]): string[] {
  const out = [...c.refusals];
  const settings = offlineSettings(c, allowedDnsSuffixes);
  for (const { source, value } of c.spaces) {
    out.push(
      ...validateSpace(value, undefined, settings).map(
        (e) => `${source}: Space ${value.metadata.name}: ${e.field}: ${e.message}`,
      ),
    );
  }
  for (const { source, value } of c.apps) {
    const ns = value.metadata.namespace;
    const what = `App ${ns ?? '<no namespace>'}/${value.metadata.name}`;
    if (!ns) {
      out.push(
        `${source}: ${what}: metadata.namespace: missing; an App lives in its Space's namespace, set it`,
      );
      continue;
    }
    const space = spaceFor(c.spaces, ns);
    if (!space) {
      out.push(
        `${source}: ${what}: its Space (the one whose namespace is "${ns}") is not in the files; add its manifest to -f`,
      );
      continue;
    }
    out.push(
      ...validateApp(value, space, undefined, settings).map(
        (e) => `${source}: ${what}: ${e.field}: ${e.message}`,
      ),
    );
  }
  return out;
}

/** The Peerings of one namespace with status.phase as the operator would set it. */
export function phasedPeerings(c: Collected, space: Space): { peerings: Peering[]; notes: string[] } {
  const ns = spaceNamespaceName(space);
  const mine = c.peerings.map((p) => p.value).filter((p) => p.metadata.namespace === ns);
  const notes: string[] = [];
  const peerings = mine.map((p) => {
    const verdict = peeringPhase(
      p,
      space,
      mine.filter((o) => o !== p),
    );
    if (verdict.phase !== 'active') {
      notes.push(
        `Peering ${ns}/${p.metadata.name} is refused by the webhook, or marked ${verdict.phase} by the operator ` +
          `without one, so its CIDRs are not admitted: ${verdict.message}`,
      );
    }
    return { ...p, status: { ...p.status, phase: verdict.phase } };
  });
  return { peerings, notes };
}

/** uid of the live custom resource, by `Kind ns/name` (--diff: the owner references match). */
export type Uids = ReadonlyMap<string, string>;

function withUid<T extends { kind: string; metadata: { name: string; namespace?: string; uid?: string } }>(
  obj: T,
  uids?: Uids,
): T {
  const key = `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
  const uid = uids?.get(key);
  return uid ? { ...obj, metadata: { ...obj.metadata, uid } } : obj;
}

/** The children of every Space, then of every App, in file order. Call after refusals() is empty. */
export function render(c: Collected, uids?: Uids): Rendered {
  const objects: RenderedObject[] = [];
  const notes: string[] = [];
  for (const { value } of c.spaces) {
    const space = withUid(value, uids);
    const adopted = c.adopted.has(spaceNamespaceName(space));
    for (const object of spaceChildren(space, { adopted }))
      objects.push({ from: `Space ${space.metadata.name}`, object });
  }
  for (const { value } of c.apps) {
    const app = withUid(value, uids);
    const space = spaceFor(c.spaces, app.metadata.namespace);
    if (!space) continue;
    const { peerings } = phasedPeerings(c, space);
    const from = `App ${app.metadata.namespace ?? ''}/${app.metadata.name}`;
    for (const object of appChildren(app, space, peerings)) objects.push({ from, object });
  }
  for (const { value } of c.spaces) notes.push(...phasedPeerings(c, value).notes);
  return { objects, notes };
}

export function formatRender(r: Rendered, output?: OutputFormat): string {
  if (output === 'json')
    return toJson({ apiVersion: 'v1', kind: 'List', items: r.objects.map((o) => o.object) });
  const notes = r.notes.map((n) => `# NOTE: ${n}\n`).join('');
  const docs = r.objects.map(
    (o) => `# ${o.object.kind} ${objectName(o.object)}, from ${o.from}\n${toYaml(o.object)}`,
  );
  return notes + docs.join('---\n');
}

function objectName(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

/** Collects and checks; throws the refusal (exit 3) when the webhook would refuse something. */
export function collectChecked(
  docs: readonly SourcedDoc[],
  allowedDnsSuffixes?: readonly string[],
): Collected {
  const c = collect(docs);
  const refused = refusals(c, allowedDnsSuffixes);
  if (refused.length > 0) {
    throw new CliError(
      [
        'the webhook would refuse these objects, so the operator would create nothing for them:',
        ...refused.map((l) => `  ${l}`),
      ].join('\n'),
      EXIT.refused,
      'fix the fields named above',
    );
  }
  return c;
}

// --- diff against the cluster ----------------------------------------------------------------

const VOLATILE = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp'] as const;

/** The object without the fields every write changes, as `kubectl diff` masks them. */
export function comparable(obj: Obj | KubeObject | undefined): string {
  if (!obj) return '';
  const meta = { ...(obj.metadata as Record<string, unknown>) };
  for (const k of VOLATILE) delete meta[k];
  return toYaml({ ...obj, metadata: meta });
}

export function diffLabel(o: KubeObject): string {
  return `${o.apiVersion}/${o.kind}/${objectName(o)}`;
}

async function liveUids(kube: Kube, c: Collected): Promise<Map<string, string>> {
  const uids = new Map<string, string>();
  const found = await Promise.all([
    ...c.spaces.map((s) => kube.getSpace(s.value.metadata.name)),
    ...c.apps.map((a) => kube.getApp(a.value.metadata.namespace ?? '', a.value.metadata.name)),
  ]);
  for (const o of found) {
    if (!o?.metadata.uid) continue;
    const ns = o.metadata.namespace ? `${o.metadata.namespace}/` : '';
    uids.set(`${o.kind} ${ns}${o.metadata.name}`, o.metadata.uid);
  }
  return uids;
}

/** One object's diff: live → what a server-side apply would leave. New namespaces: nothing to dry-run in. */
async function diffOne(kube: Kube, o: KubeObject, missingNamespaces: ReadonlySet<string>): Promise<string> {
  const labels = { from: `live/${diffLabel(o)}`, to: `rendered/${diffLabel(o)}` };
  if (o.metadata.namespace && missingNamespaces.has(o.metadata.namespace)) {
    return unifiedDiff('', comparable(o), labels);
  }
  const live = await kube.getObject(o);
  const after = await kube.applyDryRun(o, FIELD_MANAGER);
  return unifiedDiff(comparable(live), comparable(after), labels);
}

export async function diffRendered(kube: Kube, r: Rendered): Promise<string> {
  const namespaces = r.objects
    .filter((o) => o.object.kind === 'Namespace')
    .map((o) => o.object.metadata.name);
  const exists = await Promise.all(namespaces.map((n) => kube.getNamespace(n)));
  const missing = new Set(namespaces.filter((_, i) => !exists[i]));
  const diffs: string[] = [];
  for (const { object } of r.objects) diffs.push(await diffOne(kube, object, missing));
  const changed = diffs.filter((d) => d !== '');
  return changed.length === 0 ? 'no changes\n' : changed.join('');
}

export interface RenderOptions {
  files: string[];
  recursive: boolean;
  diff: boolean;
  output?: OutputFormat;
  /** The cluster's allowed DNS suffixes; default: every suffix the files name. */
  allowedDnsSuffixes?: readonly string[];
}

export async function runRender(o: RenderOptions, kube?: () => Promise<Kube>): Promise<string> {
  const c = collectChecked(await readManifests(o.files, o.recursive), o.allowedDnsSuffixes);
  if (!o.diff || !kube) return formatRender(render(c), o.output);
  const k = await kube();
  try {
    const rendered = render(c, await liveUids(k, c));
    const notes = rendered.notes.map((n) => `# NOTE: ${n}\n`).join('');
    return notes + (await diffRendered(k, rendered));
  } catch (err) {
    throw apiFailure(err, 'comparing with the cluster');
  }
}
