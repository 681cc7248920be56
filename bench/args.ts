// The bench's flags. `--quick` is a smoke run (a minute or so); every figure of the full run
// can be resized on the command line.
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Apps converged in phase 1 (and applied raw in phase 2). */
  apps: number;
  spaces: number;
  peerings: number;
  /** Reconciles in flight per controller (the operator's --concurrency). */
  concurrency: number;
  /** Requests in flight from the bench when it creates the workload. */
  clientConcurrency: number;
  /** Concurrency levels tried for the raw apply limit. */
  sweep: number[];
  /** Total Apps for the memory figure; 0 skips the phase. */
  big: number;
  /** Operator log level (written to <dir>/operator.log). */
  logLevel: string;
  json: string;
  /** A previous results.json to print deltas against. */
  compare: string | undefined;
  dataplane: boolean;
  quick: boolean;
  /** Keep the control plane's folder (logs, etcd) after the run. */
  keep: boolean;
  /** Give up on one convergence wait after this many seconds. */
  timeoutS: number;
  /** Write a V8 CPU profile of the operator (node --cpu-prof) into this folder. */
  profile: string | undefined;
  /** kube-controller-manager's client rate limit (requests/s); 0: the harness's (20/s). */
  kcmQps: number;
  /** Extra node flags for the operator process (e.g. V8 heap sizing). */
  nodeOptions: string[];
  /** Run the operator from its TypeScript sources (type stripping) instead of the compiled dist/. */
  source: boolean;
  /** Also run the controller-runtime peer (tools/peer), defaults and tuned (and the floor if asked), each on a fresh control plane. */
  peer: boolean;
  /** Which peer configurations `--peer` runs (default both). */
  peerVariants: PeerVariant[];
  /**
   * The operator doing only what the peer does: no DNS controller, and Apps that ask for no
   * certificate (spec.tls.mode none). Every subject of the run gets the same workload.
   */
  parity: boolean;
  /**
   * With --peer: run the subjects this many times, interleaved (operator, peers, operator, peers,
   * ...), so that each round's ratios compare runs minutes apart, not a drifting VM's extremes.
   */
  rounds: number;
  /** The floor writes every child and status on every reconcile, as the Go peer does. */
  floorAlwaysWrite: boolean;
}

/**
 * `defaults` and `tuned`: the controller-runtime peer (tools/peer); `floor`: the peer's reconcile
 * in Node on the operator's engine (bench/floor/).
 */
export type PeerVariant = 'defaults' | 'tuned' | 'floor';
const PEER_VARIANTS: readonly PeerVariant[] = ['defaults', 'tuned', 'floor'];

const ints = (s: string): number[] =>
  s
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);

const OPTIONS = {
  apps: { type: 'string' },
  spaces: { type: 'string' },
  peerings: { type: 'string' },
  concurrency: { type: 'string' },
  'client-concurrency': { type: 'string' },
  sweep: { type: 'string' },
  big: { type: 'string' },
  'log-level': { type: 'string', default: 'info' },
  json: { type: 'string', default: 'bench/results.json' },
  compare: { type: 'string' },
  dataplane: { type: 'boolean', default: false },
  quick: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  timeout: { type: 'string', default: '600' },
  profile: { type: 'string' },
  'kcm-qps': { type: 'string' },
  'node-options': { type: 'string', default: '' },
  source: { type: 'boolean', default: false },
  peer: { type: 'boolean', default: false },
  'peer-variants': { type: 'string', default: 'defaults,tuned' },
  parity: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  'floor-always-write': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const HELP = `npm run bench -- [flags]

  --apps N                 Apps converged and applied raw (default 1000; --quick 100)
  --spaces N               Spaces they are spread over (default 10; --quick 2)
  --peerings N             Peerings, spread over the Spaces (default 2 per Space)
  --concurrency N          the operator's reconciles in flight per controller (default 4)
  --client-concurrency N   bench requests in flight when creating the workload (default 16)
  --sweep A,B,..           concurrency levels tried for the raw apply limit (default 4,8,16,32)
  --big N                  total Apps for the memory figure, 0 = skip (default 10000; --quick 0)
  --log-level L            operator log level (default info; log in the run's folder)
  --json PATH              results file (default bench/results.json)
  --compare PATH           print deltas against an earlier results file
  --dataplane              (the data-plane figure is another bench's; reported as n/a)
  --keep                   keep the control plane's folder (logs, etcd data)
  --timeout S              give up one convergence wait after S seconds (default 600)
  --profile DIR            CPU profile of the operator over each convergence (inspector, 0.5 ms
                           sampling) into DIR; prints the top frames and the share of each area
  --peer                   also run the controller-runtime peer (tools/peer), with controller-
                           runtime's defaults and tuned (8 workers, QPS 200, managedFields
                           stripped), each on a fresh control plane; prints them side by side
                           (--big defaults to 0 with --peer: give --big 10000 for that phase)
  --peer-variants LIST     which peer configurations --peer runs: defaults,tuned (default both),
                           and floor: the peer's reconcile in Node on the operator's engine
                           (bench/floor/), forked and flagged as the operator is
  --floor-always-write     the floor writes every child and status on every reconcile (server-
                           side apply, as the peer does) instead of skipping what its cache shows
  --rounds N               with --peer: run the subjects N times, interleaved (operator, peer,
                           operator, peer, ...), and print each round's operator / peer ratios
                           and their median: this VM's speed drifts 1.5-2x within an hour
  --parity                 the operator does only what the peer does: its DNS controller off, and
                           every App with spec.tls.mode none (no certificate); the same workload
                           for every subject of the run. The difference to a run without it is
                           the CPU and memory of DNS and private TLS
  --kcm-qps N              kube-controller-manager's API rate limit (default 200; 0: the harness's 20/s)
  --node-options="FLAGS"   node/V8 flags for the operator after the Deployment's (its command)
                           (write it with =, e.g. --node-options="--max-old-space-size=256")
  --source                 run the operator's TypeScript (type stripping, ~20 MiB more RSS)
                           instead of the compiled dist/ the container image runs
  --quick                  smoke run: --apps 100 --spaces 2 --sweep 8,16 --big 0`;

export function parseBenchArgs(argv: string[] = process.argv.slice(2)): BenchArgs {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const args = argsOf(values);
  checkArgs(args);
  return args;
}

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];

const num = (v: string | undefined, d: number): number => (v === undefined ? d : Number(v));

// The workload's sizes: --quick shrinks them, --peer skips the --big phase unless it is given.
function sizes(values: Values): Pick<BenchArgs, 'apps' | 'spaces' | 'peerings' | 'sweep' | 'big'> {
  const quick = values.quick;
  const spaces = num(values.spaces, quick ? 2 : 10);
  return {
    apps: num(values.apps, quick ? 100 : 1000),
    spaces,
    peerings: num(values.peerings, 2 * spaces),
    sweep: values.sweep ? ints(values.sweep) : quick ? [8, 16] : [4, 8, 16, 32],
    big: num(values.big, quick || values.peer ? 0 : 10_000),
  };
}

function argsOf(values: Values): BenchArgs {
  return {
    ...sizes(values),
    concurrency: num(values.concurrency, 4),
    clientConcurrency: num(values['client-concurrency'], 16),
    logLevel: values['log-level'],
    json: values.json,
    compare: values.compare,
    dataplane: values.dataplane,
    quick: values.quick,
    keep: values.keep,
    timeoutS: num(values.timeout, 600),
    profile: values.profile,
    kcmQps: num(values['kcm-qps'], 200),
    nodeOptions: values['node-options'].split(/\s+/).filter(Boolean),
    source: values.source,
    peer: values.peer,
    peerVariants: peerVariants(values['peer-variants']),
    parity: values.parity,
    rounds: num(values.rounds, 1),
    floorAlwaysWrite: values['floor-always-write'],
  };
}

function peerVariants(list: string): PeerVariant[] {
  const given = list.split(',').map((v) => v.trim());
  for (const v of given)
    if (!(PEER_VARIANTS as readonly string[]).includes(v))
      throw new Error(`--peer-variants: ${JSON.stringify(v)} is not one of ${PEER_VARIANTS.join(', ')}`);
  return PEER_VARIANTS.filter((v) => given.includes(v));
}

function checkArgs(args: BenchArgs): void {
  for (const [k, v] of Object.entries(args))
    if (typeof v === 'number' && !(Number.isInteger(v) && v >= 0)) throw new Error(`--${k}: not a count`);
  if (args.spaces < 1 || args.apps < 1) throw new Error('--apps and --spaces must be at least 1');
  if (args.sweep.length === 0) throw new Error('--sweep: give concurrency levels such as 4,8,16');
  if (args.rounds < 1) throw new Error('--rounds must be at least 1');
}
