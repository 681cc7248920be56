// The small program the data plane runs inside network namespaces (`ip netns exec <ns> node
// netns-agent.ts <command> ...`), so every probe is a real socket in the namespace it names.
// Long-running commands:
//   serve <port> <reply>             TCP and UDP server on 0.0.0.0:<port>; answers "<reply>\n" then echoes
//   relay <listenPort> <unixSocket>  TCP 127.0.0.1:<listenPort> here → a Unix socket (the API relay)
//   daemon                           answers queries given as JSON lines on stdin (see daemon())
// Queries (run once, print JSON):
//   connect <tcp|udp> <host> <port> <timeoutMs>   one new connection → ProbeOutcome
//   resolve <name>                   getaddrinfo through the namespace's /etc/resolv.conf
//   query <server> <name>            one A query to that server (no search path, no retry): the
//                                    addresses, or the error code (ENOTFOUND = NXDOMAIN)
//   status <url>                     HTTP status of a GET (0 when unreachable), for health checks
// A long-running command exits when the process that started it goes away, so a crashed test
// leaves no server behind.
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import net from 'node:net';
import readline from 'node:readline';

export type ProbeResult = 'ok' | 'refused' | 'unreachable' | 'timeout';
export interface ProbeOutcome {
  /** TCP: 'ok' once the handshake completes (with the first line if one comes within the timeout). */
  result: ProbeResult;
  /** First line the server sent (the pod's name for the data plane's servers). */
  reply?: string;
  /** The socket error code behind a failed probe, e.g. ECONNREFUSED. */
  code?: string;
}

function classify(code: string | undefined): ProbeResult {
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET') return 'refused';
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return 'unreachable';
  if (code === 'ETIMEDOUT') return 'timeout';
  throw new Error(`unexpected socket error ${code}`);
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, family: 4 });
    const done = (o: ProbeOutcome): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    // A server that accepted the connection but sent no line (an HTTP server waits for the
    // request) is reachable: 'timeout' means the handshake itself got no answer.
    let connected = false;
    let buf = '';
    sock.on('connect', () => (connected = true));
    const timer = setTimeout(
      () => done(connected ? { result: 'ok', reply: buf || undefined } : { result: 'timeout' }),
      timeoutMs,
    );
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) done({ result: 'ok', reply: buf.slice(0, nl) });
    });
    sock.on('error', (err: NodeJS.ErrnoException) => done({ result: classify(err.code), code: err.code }));
    // A server that accepts but never answers still counts as reachable.
    sock.on('end', () => done({ result: 'ok', reply: buf || undefined }));
  });
}

function connectUdp(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (o: ProbeOutcome): void => {
      clearTimeout(timer);
      sock.close();
      resolve(o);
    };
    const timer = setTimeout(() => done({ result: 'timeout' }), timeoutMs);
    sock.on('message', (m) => done({ result: 'ok', reply: m.toString().split('\n')[0] }));
    sock.on('error', (err: NodeJS.ErrnoException) => done({ result: classify(err.code), code: err.code }));
    // connect() first, so an ICMP error comes back as ECONNREFUSED / EHOSTUNREACH.
    sock.connect(port, host, () => sock.send('probe\n'));
  });
}

function serve(port: number, reply: string): void {
  const tcp = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.write(`${reply}\n`);
    sock.pipe(sock);
  });
  tcp.listen(port, '0.0.0.0');
  const udp = dgram.createSocket('udp4');
  udp.on('message', (_m, from) => udp.send(`${reply}\n`, from.port, from.address));
  udp.bind(port, '0.0.0.0');
  tcp.on('listening', () => console.log('listening'));
}

function relay(listenPort: number, socketPath: string): void {
  const srv = net.createServer((client) => {
    const upstream = net.connect(socketPath);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  srv.listen(listenPort, '127.0.0.1', () => console.log('listening'));
}

async function resolveName(name: string): Promise<string[] | 'NXDOMAIN'> {
  try {
    const addrs = await dns.lookup(name, { all: true, family: 4 });
    return addrs.map((a) => a.address).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return 'NXDOMAIN';
    throw err;
  }
}

async function queryServer(server: string, name: string): Promise<string[] | string> {
  const r = new dns.Resolver({ timeout: 1000, tries: 1 });
  r.setServers([server]);
  try {
    return (await r.resolve4(name)).sort();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

async function status(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.status;
  } catch {
    return 0;
  }
}

function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 500).unref();
}

/** The one-shot commands, by name; their answer is printed (or sent back by the daemon) as JSON. */
const QUERIES: Record<string, (args: string[]) => Promise<unknown>> = {
  connect: ([proto, host = '', port, timeout]) =>
    (proto === 'udp' ? connectUdp : connectTcp)(host, Number(port), Number(timeout)),
  status: ([url = '']) => status(url),
  resolve: ([name = '']) => resolveName(name),
  query: ([server = '', name = '']) => queryServer(server, name),
};

async function query(argv: string[]): Promise<unknown> {
  const [cmd = '', ...args] = argv;
  const run = Object.hasOwn(QUERIES, cmd) ? QUERIES[cmd] : undefined;
  if (!run) throw new Error(`unknown command ${cmd}`);
  return run(args);
}

/**
 * Answers queries from stdin, one JSON line `{ id, argv }` each, with `{ id, value }` or
 * `{ id, error }` lines on stdout, so a namespace's probes cost no process start.
 */
function daemon(): void {
  const lines = readline.createInterface({ input: process.stdin });
  const send = (msg: object): boolean => process.stdout.write(`${JSON.stringify(msg)}\n`);
  lines.on('line', (line) => {
    const { id, argv } = JSON.parse(line) as { id: number; argv: string[] };
    query(argv).then(
      (value) => send({ id, value }),
      (err: unknown) => send({ id, error: String(err) }),
    );
  });
  lines.on('close', () => process.exit(0));
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'serve':
      exitWithParent();
      return serve(Number(args[0]), args[1] ?? '');
    case 'relay':
      exitWithParent();
      return relay(Number(args[0]), args[1] ?? '');
    case 'daemon':
      exitWithParent();
      return daemon();
    default:
      console.log(JSON.stringify(await query(argv)));
  }
}

if (process.argv[1] === import.meta.filename) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(2);
  });
}
