// Where a listener's sessions go, as of one config (routes.ts builds them; session.ts follows them).
import type { SessionLogger } from "./access-log.ts";
import type { Picker } from "./balance/types.ts";
import type { Logger } from "./log.ts";
import type { ServerConfig } from "./config/model.ts";
import type { Phase } from "./phases/phase.ts";
import type { RouteTls } from "./phases/ssl-setup.ts";
import type { VirtualRoutes } from "./phases/ssl-sni.ts";
import type { RateValues } from "./rate-value.ts";
import type { Upstream } from "./upstream.ts";
import type { ComplexValue } from "./variables/complex-value.ts";
import type { PassRoute } from "./pass-content.ts";
import type { VariableRegistry } from "./variables/registry.ts";
import type { CertificateValues } from "./variables/stream-variables.ts";

/** An upstream and the method that picks in it. */
export interface Target {
  readonly upstream: Upstream;
  readonly picker: Picker;
}

/** Where a listener's sessions go: the server block and its content, as of one config. */
export interface Route {
  readonly server: ServerConfig;
  /** proxy_pass NAME's upstream; null when the content is `return` or `proxy_pass $var`. */
  readonly target: Target | null;
  /** `0.0.0.0:8000`, for log lines. */
  readonly listenName: string;
  /** The server's access_log (the balancer writes it when a session ends); null/absent = off. */
  readonly accessLog?: SessionLogger | null;
  /** The server's error_log (stream{}'s or its own); null/absent = the main error logs. */
  readonly errorLog?: Logger | null;
  /** The phases before content (phases/pipeline.ts); absent or empty: none run. */
  readonly phases?: readonly Phase[];
  /** The config's variables; a session makes its slots only when something reads one. */
  readonly registry?: VariableRegistry;
  /** proxy_bind with variables. */
  readonly bind?: ComplexValue | null;
  /** proxy_upload_rate / proxy_download_rate with variables. */
  readonly rates?: RateValues | null;
  /** `return VALUE`: the content handler instead of proxying. */
  readonly returnValue?: ComplexValue | null;
  /** `proxy_pass $var`: evaluated per session, then named as an upstream or host:port. */
  readonly proxyTarget?:
    | { readonly value: ComplexValue; resolve(name: string): Target | string | Promise<Target | string> }
    | null;
  /** `proxy_ssl_name` with variables, evaluated per session. */
  readonly proxySslName?: ComplexValue;
  /** ssl_certificate/ssl_certificate_key with variables, evaluated per handshake. */
  readonly certificates?: readonly CertificateValues[];
  /** `proxy_ssl_alpn` with variables, evaluated per session. */
  readonly proxySslAlpn?: readonly ComplexValue[];
  /** `pass ADDRESS`: the content handler that hands the connection to another listener. */
  readonly pass?: PassRoute | null;
  /**
   * Its clients' sockets must take TLS later though the address has none: `pass` may hand
   * them to a `listen … ssl` one (runtime.ts's ListenOptions.tls).
   */
  readonly upgradeable?: boolean;
  /** `listen … ssl` and proxy_ssl, compiled; null/absent = plain TCP both ways. */
  readonly tls?: RouteTls | null;
  /** The address's other server blocks, which SNI chooses by server_name (default route only). */
  readonly virtual?: VirtualRoutes<Route>;
}
