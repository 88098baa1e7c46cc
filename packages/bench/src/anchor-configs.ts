// Configuration files of the native proxies the comparison runs beside the Node ones: the cheap nginx
// backends and the three anchors, each as its users would deploy it for cookie affinity.

/** Where a native process keeps its pid file, logs and temporary files. */
export interface NativePaths {
  /** An absolute directory of its own. */
  readonly dir: string
}

/** The header each backend names itself in (its index), so that a run can be checked end to end. */
export const BACKEND_HEADER = 'x-backend'
/** The path of a backend's request counter (nginx `stub_status`). */
export const COUNT_PATH = '/__count'

/** One cheap backend: nginx, one worker, `return 200` with its index in {@link BACKEND_HEADER}. */
export function nginxBackendConfig(index: number, port: number, paths: NativePaths): string {
  return `worker_processes 1;
daemon off;
pid ${paths.dir}/nginx.pid;
error_log ${paths.dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:${port};
    location = ${COUNT_PATH} { stub_status; }
    location / {
      add_header ${BACKEND_HEADER} ${index};
      return 200 "ok\\n";
    }
  }
}
`
}

/** The cookie an anchor pins with: its name and one value per backend, in backend order. */
export interface PinCookie {
  readonly name: string
  readonly values: readonly string[]
}

/**
 * nginx as a cookie-affinity proxy without the commercial `sticky` module (Debian's nginx has none):
 * a `map` from the cookie to a one-server upstream, round robin for anything else, and a `Set-Cookie`
 * naming the server that answered a request without a valid cookie. All upstreams keep connections alive.
 */
export function nginxProxyConfig(port: number, backends: readonly number[], cookie: PinCookie, workers: number, paths: NativePaths): string {
  const server = (p: number): string => `server 127.0.0.1:${p};`
  const pools = backends.map((p, i) => `  upstream pin${i} { ${server(p)} keepalive 64; }`).join('\n')
  const byCookie = cookie.values.map((v, i) => `    "${v}" pin${i};`).join('\n')
  const byPeer = backends.map((p, i) => `    "127.0.0.1:${p}" "${cookie.name}=${cookie.values[i]}; Path=/";`).join('\n')
  return `worker_processes ${workers};
daemon off;
pid ${paths.dir}/nginx.pid;
error_log ${paths.dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream all { ${backends.map(server).join(' ')} keepalive 64; }
${pools}
  map $cookie_${cookie.name} $pool {
    default all;
${byCookie}
  }
  map $upstream_addr $pin_of_peer {
    default "";
${byPeer}
  }
  map $pool $set_pin {
    default "";
    all $pin_of_peer;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://$pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      add_header Set-Cookie $set_pin;
    }
  }
}
`
}

/** HAProxy with `cookie SERVERID insert indirect nocache`, round robin for new clients, connections reused. */
export function haproxyConfig(port: number, backends: readonly number[], threads: number): string {
  const servers = backends.map((p, i) => `  server s${i} 127.0.0.1:${p} cookie s${i}`).join('\n')
  return `global
  nbthread ${threads}
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend proxy
  bind 127.0.0.1:${port}
  option forwardfor
  default_backend peers
backend peers
  balance roundrobin
  cookie SERVERID insert indirect nocache
${servers}
`
}

/** Caddy's `reverse_proxy` with `lb_policy cookie`; no admin endpoint, no automatic HTTPS. */
export function caddyfile(port: number, backends: readonly number[]): string {
  return `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  bind 127.0.0.1
  reverse_proxy ${backends.map((p) => `127.0.0.1:${p}`).join(' ')} {
    lb_policy cookie
  }
}
`
}
