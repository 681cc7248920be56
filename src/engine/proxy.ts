// Proxies from the environment, the way Go's golang.org/x/net/http/httpproxy reads them (so the
// operator, the CLI and kubectl agree): HTTPS_PROXY for https URLs, HTTP_PROXY for http URLs
// (upper case first, then lower case), and NO_PROXY, a comma-separated list of
//   - `*`: no proxy at all;
//   - an IP (`10.0.0.1`) or a CIDR (`10.0.0.0/8`, `fd00::/8`): hosts given as an address in it;
//   - a domain (`example.com`): that name and every subdomain; `.example.com`: subdomains only;
//   - any of those with `:port`: only that port.
// `localhost` and loopback addresses never go through a proxy (as in Go). An https URL is
// tunnelled with CONNECT (the TLS session is end to end); an http URL is sent to the proxy as
// an absolute URL. Proxy URLs are http:// (no scheme means http://), with optional user:password.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import ipaddr from 'ipaddr.js';

/** Where requests to one URL go: directly (undefined) or through this proxy. */
export interface Proxy {
  url: URL;
  /** `Basic …` from the proxy URL's user and password, when it has them. */
  authorization?: string;
}

interface NoProxyRule {
  /** Matches the host (name or address), ignoring the port. */
  host: (host: string) => boolean;
  /** 0: any port. */
  port: number;
}

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

function envOf(env: NodeJS.ProcessEnv, name: string): string {
  return env[name] ?? env[name.toLowerCase()] ?? '';
}

function parseProxyUrl(value: string, variable: string): Proxy {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch (err) {
    throw new Error(`${variable}: "${value}" is not a proxy URL`, { cause: err });
  }
  if (url.protocol !== 'http:') {
    throw new Error(`${variable}: only http:// proxies are supported (got ${url.protocol}//)`);
  }
  if (!url.username) return { url };
  const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { url, authorization: `Basic ${Buffer.from(user).toString('base64')}` };
}

/** Strips IPv6 brackets: `[::1]` → `::1`. */
function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function hostMatcher(entry: string): (host: string) => boolean {
  const name = bare(entry).toLowerCase();
  if (name.includes('/')) {
    const [range, bits] = ipaddr.parseCIDR(name);
    return (host) =>
      ipaddr.isValid(host) && sameKind(ipaddr.parse(host), range) && ipaddr.parse(host).match(range, bits);
  }
  if (ipaddr.isValid(name)) {
    const ip = ipaddr.parse(name).toNormalizedString();
    return (host) => ipaddr.isValid(host) && ipaddr.parse(host).toNormalizedString() === ip;
  }
  if (name.startsWith('.')) return (host) => host.endsWith(name);
  return (host) => host === name || host.endsWith(`.${name}`);
}

function sameKind(a: ipaddr.IPv4 | ipaddr.IPv6, b: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return a.kind() === b.kind();
}

/** Splits `host:port` (a bare IPv6 address has no port unless bracketed). */
function splitHostPort(entry: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
  return m ? { host: m[1] ?? entry, port: Number(m[2]) } : { host: entry, port: 0 };
}

function parseNoProxy(value: string): NoProxyRule[] | 'all' {
  const rules: NoProxyRule[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry === '*') return 'all';
    const { host, port } = entry.includes('/') ? { host: entry, port: 0 } : splitHostPort(entry);
    try {
      rules.push({ host: hostMatcher(host), port });
    } catch (err) {
      throw new Error(`NO_PROXY: "${entry}" is neither a host, an IP address nor a CIDR`, { cause: err });
    }
  }
  return rules;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  const ip = ipaddr.process(host);
  return ip.range() === 'loopback';
}

/**
 * The proxy settings of an environment, read once. Throws naming the variable when a proxy URL
 * or a NO_PROXY entry cannot be read.
 */
export class ProxyConfig {
  readonly #https: Proxy | undefined;
  readonly #http: Proxy | undefined;
  readonly #noProxy: NoProxyRule[] | 'all';

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const httpsProxy = envOf(env, 'HTTPS_PROXY');
    const httpProxy = envOf(env, 'HTTP_PROXY');
    this.#https = httpsProxy ? parseProxyUrl(httpsProxy, 'HTTPS_PROXY') : undefined;
    this.#http = httpProxy ? parseProxyUrl(httpProxy, 'HTTP_PROXY') : undefined;
    this.#noProxy = parseNoProxy(envOf(env, 'NO_PROXY'));
  }

  /** The proxy for `target`, or undefined to connect directly. */
  proxyFor(target: URL): Proxy | undefined {
    const proxy = target.protocol === 'https:' ? this.#https : this.#http;
    if (!proxy || this.#noProxy === 'all') return undefined;
    const host = bare(target.hostname).toLowerCase();
    if (isLoopback(host)) return undefined;
    const port = Number(target.port) || DEFAULT_PORT[target.protocol] || 0;
    const excluded = this.#noProxy.some((r) => (r.port === 0 || r.port === port) && r.host(host));
    return excluded ? undefined : proxy;
  }
}

/** Opens a CONNECT tunnel to `host:port` through `proxy`; the socket once the proxy said 200. */
function connectTunnel(proxy: Proxy, host: string, port: number): Promise<Duplex> {
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { Host: authority };
  if (proxy.authorization) headers['Proxy-Authorization'] = proxy.authorization;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: bare(proxy.url.hostname),
      port: Number(proxy.url.port) || 80,
      method: 'CONNECT',
      path: authority,
      headers,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(
        new Error(
          `proxy ${proxy.url.host} refused CONNECT ${authority}: ${res.statusCode ?? 0} ${res.statusMessage ?? ''}`,
        ),
      );
    });
    req.once('error', (err) =>
      reject(new Error(`cannot reach proxy ${proxy.url.host}: ${err.message}`, { cause: err })),
    );
    req.end();
  });
}

/**
 * An https.Agent whose connections are CONNECT tunnels through `proxy`, with TLS end to end
 * (certificate checks, SNI and client certificates as without a proxy). Keep-alive pools the
 * tunnels.
 */
export class TunnelAgent extends https.Agent {
  readonly #proxy: Proxy;

  constructor(proxy: Proxy, opts: https.AgentOptions = {}) {
    super(opts);
    this.#proxy = proxy;
  }

  override createConnection(
    options: tls.ConnectionOptions & { host?: string; port?: number },
    callback: (err: Error | null, socket?: Duplex) => void,
  ): undefined {
    const host = bare(options.host ?? 'localhost');
    const port = options.port ?? 443;
    connectTunnel(this.#proxy, host, port).then(
      (socket) => {
        const servername = options.servername ?? (net.isIP(host) ? undefined : host);
        const secure = tls.connect({ ...options, socket, ...(servername ? { servername } : {}) });
        callback(null, secure);
      },
      (err: Error) => callback(err),
    );
    return undefined;
  }
}
