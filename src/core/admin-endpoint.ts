// The admin endpoint's HTTP server as the config in force wants it; what it answers is admin.ts.
import { limitRequests } from "./admin-limits.ts";
import type { AdminHandler } from "./admin.ts";
import type { AdminConfig } from "./config/model.ts";
import { systemReason } from "./errno.ts";
import type { Logger } from "./log.ts";
import type { HttpServer, Runtime } from "./runtime.ts";

/**
 * Runs the admin HTTP server for the config in force: starts it, moves it when a reload
 * changes its address, stops it when the config drops it. A token change needs no restart
 * (the handler reads the current one).
 */
export class AdminEndpoint {
  private server: HttpServer | null = null;
  private at: string | null = null;

  constructor(
    private readonly runtime: Pick<Runtime, "serveHttp">,
    private readonly handler: AdminHandler,
    private readonly logger: Logger,
  ) {}

  /** Where it listens (the real port when 0 was asked for); null when off. */
  get address(): { host: string; port: number } | null {
    return this.server ? { host: this.server.host, port: this.server.port } : null;
  }

  /** Starts, moves or stops the endpoint; rejects (leaving the old one running) if it cannot bind. */
  async apply(config: AdminConfig | null): Promise<void> {
    const key = config ? `${config.host}:${config.port}` : null;
    if (key === this.at) return;
    let previous = this.server;
    let next: HttpServer | null = null;
    if (config) {
      // Fail closed: an API that changes upstreams is not opened to the network by accident.
      if (config.token === null && !isLoopback(config.host) && config.insecure !== true) {
        throw new Error(
          `admin: listening on ${key} without a token is refused: add token=TOKEN, listen on loopback, or say "insecure" to allow it`,
        );
      }
      const serve = () => this.runtime.serveHttp({ host: config.host, port: config.port }, limitRequests(this.handler));
      try {
        next = await serve().catch(async (e: unknown) => {
          // Same port, another address (127.0.0.1:9000 → 0.0.0.0:9000): the old one holds it.
          if (!previous || previous.port !== config.port) throw e;
          await previous.close();
          previous = null;
          this.server = null;
          this.at = null;
          return serve();
        });
      } catch (e) {
        throw new Error(`admin: bind() to ${key} failed (${systemReason(e)})`);
      }
      const shown = next.host.includes(":") ? `[${next.host}]` : next.host;
      this.logger.log("notice", `admin endpoint on http://${shown}:${next.port}/ (status page, /status, /metrics, /api)`);
      if (config.token === null && !isLoopback(config.host)) {
        this.logger.log("warn", `admin endpoint on ${key} has no token: anyone who reaches it can change upstreams`);
      }
    }
    this.server = next;
    this.at = key;
    await previous?.close();
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.at = null;
    await s?.close();
  }
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
