// Certificates chosen per handshake (nginx's certificate callback, ngx_stream_ssl_certificate):
// when ssl_certificate or ssl_certificate_key has variables, every handshake evaluates each
// pair once the ClientHello has been read ($ssl_server_name is the name it asks for, and map,
// geo and the connection's own variables are there), then reads the files, as nginx does on
// every handshake without ssl_certificate_cache: a file changed on disk serves the next
// handshake, a missing one fails only the handshake that names it. What is compiled from the
// files (a setup per pair list) is kept by their contents, so an unchanged file costs a read.
import { describeFileError } from "../config/read-nginx/files.ts";
import { isInlinePem } from "../config/tls-config.ts";
import { TlsConfigError, type TlsServerContext, type TlsServerOptions } from "../runtime-tls.ts";
import type { CertificateValues } from "../variables/stream-variables.ts";
import type { VariableScope } from "../variables/context.ts";

/** Setups kept per server, the least recently used going first. */
const MAX_SETUPS = 64;

export type CertificateChoice = { readonly context: TlsServerContext } | { readonly error: string };

export class HandshakeCertificates {
  private readonly setups = new Map<string, TlsServerContext>();

  constructor(
    private readonly values: readonly CertificateValues[],
    /** The directory a relative evaluated path resolves against (the prefix), or null. */
    private readonly base: string | null,
    /** The server's setup without certificates (protocols, ciphers, CAs, ticket keys). */
    readonly setup: TlsServerContext,
    private readonly withCertificates: (base: TlsServerContext, pairs: TlsServerOptions["pairs"]) => TlsServerContext,
    private readonly readText: (path: string) => Promise<string>,
  ) {}

  /** The setup for one handshake, or nginx's line for what could not be loaded. */
  async choose(variables: VariableScope): Promise<CertificateChoice> {
    const pairs: { cert: string; key: string; certPath: string; keyPath: string }[] = [];
    for (const v of this.values) {
      const certPath = this.resolve(v.cert.evaluate(variables));
      const cert = await this.load(certPath, "certificate");
      if (typeof cert !== "string") return cert;
      const keyPath = this.resolve(v.key.evaluate(variables));
      const key = await this.load(keyPath, "certificate key");
      if (typeof key !== "string") return key;
      pairs.push({ cert, key, certPath, keyPath });
    }
    const id = pairs.map((p) => `${p.cert}\0${p.key}`).join("\0");
    let context = this.setups.get(id);
    if (context !== undefined) {
      this.setups.delete(id);
      this.setups.set(id, context);
      return { context };
    }
    try {
      context = this.withCertificates(this.setup, pairs);
    } catch (e) {
      // The same checks as at load, named as nginx names them on a connection.
      return { error: e instanceof TlsConfigError ? e.message.replace(/^SSL_CTX_use_/, "SSL_use_") : String(e) };
    }
    if (this.setups.size >= MAX_SETUPS) this.setups.delete(this.setups.keys().next().value!);
    this.setups.set(id, context);
    return { context };
  }

  /** ngx_ssl_cache_init_key: `data:` is the PEM itself; a relative path is under the prefix. */
  private resolve(path: string): string {
    if (isInlinePem(path) || path.startsWith("/") || this.base === null) return path;
    return `${this.base.replace(/\/$/, "")}/${path}`;
  }

  private async load(path: string, what: string): Promise<string | { error: string }> {
    if (isInlinePem(path)) return path.slice("data:".length);
    try {
      return await this.readText(path);
    } catch (e) {
      return { error: `cannot load ${what} "${path}": BIO_new_file() failed (${describeFileError(e)})` };
    }
  }
}
