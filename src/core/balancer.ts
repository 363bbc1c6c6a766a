// Listeners and upstreams of one running streamlb. apply() starts it and reloads it:
// listeners that stay are kept open, new ones open, removed ones close.
import { createPicker } from "./balance/picker.ts";
import { formatHostPort } from "./config/address.ts";
import type { Config, ServerConfig } from "./config/model.ts";
import type { Logger } from "./log.ts";
import type { ClientConnection, Listener, Runtime } from "./runtime.ts";
import { Session, type Route } from "./session.ts";
import { Upstream } from "./upstream.ts";

interface ListenerSlot {
  readonly key: string;
  readonly listener: Listener;
  /** Swapped on reload; the listener itself stays open. */
  route: Route;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** As configured (`8000`, `127.0.0.1:0`), to find a listener from its config. */
  readonly configured: string;
}

export class Balancer {
  private readonly slots = new Map<string, ListenerSlot>();
  private readonly sessions = new Set<Session>();
  private nextSessionId = 1;
  private config: Config | null = null;

  constructor(
    private readonly runtime: Runtime,
    private readonly logger: Logger,
  ) {}

  get current(): Config | null {
    return this.config;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  addresses(): BoundAddress[] {
    return [...this.slots.values()].map((s) => ({
      host: s.listener.host,
      port: s.listener.port,
      configured: s.key,
    }));
  }

  /** Starts or reloads. On a listen error nothing of the new config is kept. */
  async apply(config: Config): Promise<void> {
    const upstreams = new Map<string, Upstream>();
    for (const [name, up] of config.stream.upstreams) upstreams.set(name, new Upstream(up));

    const wanted = new Map<string, Route>();
    for (const server of config.stream.servers) {
      const upstream = upstreams.get(server.proxyPass)!;
      for (const l of server.listen) {
        const key = formatHostPort(l.host ?? "*", l.port);
        wanted.set(key, {
          server,
          upstream,
          picker: createPicker(upstream.config.method),
          listenName: formatHostPort(l.host ?? "0.0.0.0", l.port),
        });
      }
    }

    const opened: ListenerSlot[] = [];
    try {
      for (const [key, route] of wanted) {
        if (this.slots.has(key)) continue;
        opened.push(await this.open(key, route.server, route));
      }
    } catch (err) {
      await Promise.all(opened.map((s) => s.listener.close()));
      throw err;
    }

    for (const slot of opened) this.slots.set(slot.key, slot);
    for (const [key, slot] of this.slots) {
      const route = wanted.get(key);
      if (route) {
        slot.route = route;
      } else {
        this.slots.delete(key);
        await slot.listener.close();
      }
    }
    this.config = config;
  }

  /** Stops listening and ends every live session at once. */
  async close(): Promise<void> {
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((s) => s.listener.close()));
    for (const s of this.sessions) s.abort();
  }

  private async open(key: string, server: ServerConfig, route: Route): Promise<ListenerSlot> {
    const listen = server.listen.find((l) => formatHostPort(l.host ?? "*", l.port) === key)!;
    let slot: ListenerSlot | null = null;
    const listener = await this.runtime
      .listen({ host: listen.host, port: listen.port, noDelay: server.proxy.tcpNodelay }, (client) =>
        this.accept(client, slot!),
      )
      .catch((err: unknown) => {
        const detail = err instanceof Error ? err.message : String(err);
        throw new Error(`bind() to ${route.listenName} failed (${detail})`);
      });
    slot = { key, listener, route };
    return slot;
  }

  private accept(client: ClientConnection, slot: ListenerSlot): void {
    const session = new Session(this.nextSessionId++, client, slot.route, this.runtime, this.logger);
    this.sessions.add(session);
    session
      .run()
      .catch((err: unknown) => {
        // The core never throws past a connection: log it, end this session only.
        this.logger.log("error", `*${session.id} session failed: ${err instanceof Error ? err.stack : String(err)}`);
        session.abort();
      })
      .finally(() => this.sessions.delete(session));
  }
}
