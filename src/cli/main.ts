// `kubectl spaces`: the kubectl plugin of spaces-operator (bin/kubectl-spaces.js runs main()).
// Commands: create app, info, reach, render, doctor. Global kubectl flags: --kubeconfig,
// --context, -n/--namespace, -o yaml|json|wide. Exit codes: see EXIT_CODES_HELP (errors.ts).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runCreateApp, type DryRun } from './create.ts';
import { runDoctor } from './doctor.ts';
import { CliError, EXIT, errorText } from './errors.ts';
import { runInfo } from './info.ts';
import { Kube, type KubeFlags } from './kube.ts';
import { OUTPUT_FORMATS, type OutputFormat } from './output.ts';
import { runReach } from './reach.ts';
import { listFlag } from '../model/settings.ts';
import { runRender } from './render.ts';
import { versionText } from './version.ts';
import { DEFAULT_APP_PORT } from '../api/v1alpha1/constants.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  now(): Date;
}

const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  now: () => new Date(),
};

export const EXIT_CODES_HELP = `
Exit codes:
  0  success (doctor: no problem found; reach: not exposed)
  1  error: not found, refused by the API server for another reason, cluster unreachable
  2  usage: unknown command or flag, missing argument, bad flag value
  3  refused by validation: the webhook's rules (checked before calling the API) or the API server's schema
  4  doctor found problems, or reach found the app reachable beyond its Space and peers
`;

interface GlobalOptions extends KubeFlags {
  output?: OutputFormat;
}

function kubeOf(opts: GlobalOptions): Promise<Kube> {
  return Kube.load({
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
}

function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('not an integer.');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Where a command's exit code lands (actions cannot return one through commander). */
interface Outcome {
  code: number;
}

function createCommand(program: Command, io: Io, outcome: Outcome): void {
  const create = program
    .command('create')
    .description('Create privatespaces.dev objects (Heroku: apps:create --space)');
  create
    .command('app')
    .summary('Create an App in a Space and print the names it answers to')
    .description(
      "Create an App in a Space's namespace and print the names it answers to. The App is checked with the " +
        "admission webhook's rules against the live Space before anything is sent (exit 3 when refused).",
    )
    .argument(
      '<name>',
      'App name (a DNS-1035 label: lower-case letters, digits and -, starting with a letter)',
    )
    .requiredOption('--space <space>', 'the Space to create the App in (kubectl get spaces)')
    .option(
      '--internal-routing',
      'reachable only from its Space and peered networks, never the internet; cannot be changed later',
      false,
    )
    .option('--domain <domain>', 'a custom domain (repeat for more)', collect, [])
    .option('--port <port>', `port the web process listens on ($PORT)`, integer, DEFAULT_APP_PORT)
    .option('--no-dns-discovery', 'turn off DNS service discovery (web.<app>.app.localspace)')
    .option('--acm', 'Automated Certificate Management (not with --internal-routing)', false)
    .addOption(
      new Option(
        '--dry-run [strategy]',
        'client: check and print, send nothing; server: the API server checks, nothing is stored',
      )
        .choices(['client', 'server'])
        .preset('client'),
    )
    .addHelpText(
      'after',
      '\nExample:\n  kubectl spaces create app billing --space acme --internal-routing --domain billing.acme.example\n',
    )
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const out = await runCreateApp(await kubeOf(g), {
        name,
        space: o['space'] as string,
        internalRouting: o['internalRouting'] === true,
        domains: o['domain'] as string[],
        port: o['port'] as number,
        dnsDiscovery: o['dnsDiscovery'] !== false,
        acm: o['acm'] === true,
        ...(o['dryRun'] ? { dryRun: o['dryRun'] as DryRun } : {}),
        ...(g.output ? { output: g.output } : {}),
      });
      io.out(out);
      outcome.code = EXIT.ok;
    });
}

function infoCommand(program: Command, io: Io, outcome: Outcome): void {
  program
    .command('info')
    .summary('Show a Space: CIDRs, the route a peer must add, trusted IP ranges, Peerings and Apps')
    .description(
      'Show a Space: CIDR, dyno subnets, the route a peer must add, generation, trusted IP ranges, its Peerings and ' +
        'their state, its Apps (Heroku: spaces:info, spaces:peering:info)',
    )
    .argument('<space>', 'Space name')
    .addHelpText('after', '\nExamples:\n  kubectl spaces info acme\n  kubectl spaces info acme -o wide\n')
    .action(async (space: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      io.out(await runInfo(await kubeOf(g), space, g.output));
      outcome.code = EXIT.ok;
    });
}

function reachCommand(program: Command, io: Io, outcome: Outcome): void {
  program
    .command('reach')
    .summary("Who can open connections to an App's pods; exit 4 when exposed beyond its Space and peers")
    .description(
      "Who can open connections to an App's web pods, from every live NetworkPolicy of its namespace (not only the " +
        "operator's): source, ports and the policy admitting it. Flags what lets in anything beyond the Space and its " +
        'active peerings (external apps: and the trusted IP ranges); exit 4 when exposed.',
    )
    .argument('<app>', 'App name (-n: its Space namespace)')
    .addHelpText(
      'after',
      '\nExamples:\n  kubectl spaces reach billing -n acme\n  kubectl spaces reach billing -n acme -o json | jq .widenings\n',
    )
    .action(async (app: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const r = await runReach(await kubeOf(g), app, g.output);
      io.out(r.out);
      outcome.code = r.exposed ? EXIT.problems : EXIT.ok;
    });
}

function renderCommand(program: Command, io: Io, outcome: Outcome): void {
  program
    .command('render')
    .summary('Print (or --diff) the objects the operator would create for manifests, offline')
    .description(
      'Print, offline, the objects the operator would create for the Spaces, Apps and Peerings in the files (the ' +
        "reconciler's own functions; a Peering counts when it would be active). --diff compares them with the " +
        'cluster by a server-side dry-run apply, like kubectl diff.',
    )
    .option(
      '-f, --filename <path>',
      "a file or folder of manifests (repeat for more; '-' reads stdin)",
      collect,
      [],
    )
    .option('-R, --recursive', 'read folders given to -f recursively', false)
    .option('--diff', 'compare with the live cluster and print a unified diff (or "no changes")', false)
    .option(
      '--allowed-dns-suffixes <list>',
      "the cluster's allowed DNS suffixes (comma-separated), as its operator's flag; default: every suffix the files name",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  kubectl spaces render -f examples/\n  kubectl spaces render -f examples/ --diff\n  kustomize build overlays/prod | kubectl spaces render -f -\n',
    )
    .action(async (o: RenderFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const out = await runRender(
        {
          files: o.filename,
          recursive: o.recursive,
          diff: o.diff,
          ...(o.allowedDnsSuffixes === undefined
            ? {}
            : { allowedDnsSuffixes: listFlag(o.allowedDnsSuffixes) }),
          ...(g.output ? { output: g.output } : {}),
        },
        () => kubeOf(g),
      );
      io.out(out);
      outcome.code = EXIT.ok;
    });
}

interface RenderFlags {
  filename: string[];
  recursive: boolean;
  diff: boolean;
  allowedDnsSuffixes?: string;
}

function doctorCommand(program: Command, io: Io, outcome: Outcome): void {
  program
    .command('doctor')
    .summary('Diagnose an App: conditions, events, endpoints, DNS, policies; exit 4 on problems')
    .description(
      'Diagnose an App: its conditions and events, whether its web process has ready endpoints, whether its names are ' +
        'in the CoreDNS entries, which policies select it, and what is wrong, one line each with what to do; exit 4 ' +
        'when a problem is found.',
    )
    .argument('<app>', 'App name (-n: its Space namespace)')
    .addHelpText('after', '\nExample:\n  kubectl spaces doctor billing -n acme\n')
    .action(async (app: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const r = await runDoctor(await kubeOf(g), app, g.output, io.now());
      io.out(r.out);
      outcome.code = r.problems > 0 ? EXIT.problems : EXIT.ok;
    });
}

export function program(io: Io, outcome: Outcome): Command {
  const p = new Command('kubectl spaces')
    .description(
      'Heroku-style Private Spaces on Kubernetes: create apps, inspect Spaces, check who can reach an app.',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('-n, --namespace <namespace>', "namespace (default: the context's, else default)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS))
    .addHelpText('after', EXIT_CODES_HELP);
  createCommand(p, io, outcome);
  infoCommand(p, io, outcome);
  reachCommand(p, io, outcome);
  renderCommand(p, io, outcome);
  doctorCommand(p, io, outcome);
  p.command('version')
    .description('Print the version of kubectl-spaces')
    .action(() => io.out(versionText()));
  return p;
}

function commanderExit(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
  return EXIT.usage;
}

/** Runs one command line (without `node` and the script); resolves with the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const outcome: Outcome = { code: EXIT.ok };
  try {
    await program(io, outcome).parseAsync([...argv], { from: 'user' });
    return outcome.code;
  } catch (err) {
    if (err instanceof CommanderError) return commanderExit(err);
    if (err instanceof CliError) {
      io.err(errorText(err));
      return err.exitCode;
    }
    io.err(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.error;
  }
}
