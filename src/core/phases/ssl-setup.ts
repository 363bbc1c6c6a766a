// Turns a server{}'s ssl_* and proxy_ssl_* settings into what a session needs: the server
// context (certificates loaded, checked and compiled, as nginx does at start and on reload)
// and the options of TLS toward its upstream. Every failure names its file in nginx's words,
// and a setting the runtime's library cannot honour is refused naming the runtime.
import { describeFileError } from "../config/read-nginx/files.ts";
import type { ServerConfig, ServerTlsConfig } from "../config/model.ts";
import { DEFAULT_TLS } from "../config/tls-config.ts";
import type { Runtime, TlsSupport } from "../runtime.ts";
import { type TlsClientOptions, TlsConfigError, type TlsServerContext, type TlsServerOptions } from "../runtime-tls.ts";

/** A route's TLS, compiled once per config. */
export interface RouteTls {
  /** null: the listener is plain TCP, or the server has no certificates (another's serve it). */
  readonly server: TlsServerContext | null;
  /** The listener is `listen … ssl`: its clients go through the ssl phase. */
  readonly ssl: boolean;
  readonly settings: ServerTlsConfig;
  /** null: proxy_ssl off (the upstream side is plain TCP, on the TLS-capable sockets). */
  readonly proxy: Omit<TlsClientOptions, "serverName" | "sessionKey"> | null;
  readonly support: TlsSupport;
}

/** A start or reload stops here with this message (nginx's [emerg]). */
export class TlsSetupError extends Error {}

/**
 * `ssl`: the address is `listen … ssl`; `chosenByName`: the server is one SNI chooses among
 * those on the address, and without certificates of its own it keeps the default server's.
 */
export async function compileRouteTls(
  runtime: Runtime,
  server: ServerConfig,
  ssl: boolean,
  chosenByName = false,
  /** A start or reload's [warn] lines (a key file others may read). */
  warn: (message: string) => void = () => {},
): Promise<RouteTls | null> {
  const settings = server.tls ?? DEFAULT_TLS;
  if (!ssl && !settings.proxySsl) return null;
  const support = runtime.tls;
  if (!support) {
    throw new TlsSetupError(`${ssl ? `"listen ... ssl"` : `"proxy_ssl"`} is not supported on ${runtime.name}: it has no TLS`);
  }
  const read = (path: string, what: string) =>
    runtime.readTextFile(path).catch((e: unknown) => {
      throw new TlsSetupError(`cannot load ${what} "${path}": BIO_new_file() failed (${describeFileError(e)})`);
    });
  // A private key others can read is a leak waiting to happen: said, never its bytes.
  const keyWarning = (path: string) => {
    const mode = support.keyFileMode?.(path) ?? null;
    if (mode !== null && (mode & 0o077) !== 0) {
      warn(`the certificate key "${path}" is readable by group or others (mode 0${mode.toString(8)}), it should be 0600`);
    }
  };
  const passwords = async (path: string | null) =>
    path === null ? [] : (await read(path, "password file")).split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l !== "");
  let context: TlsServerContext | null = null;
  // A server rejecting every handshake it gets needs no certificate (ssl_reject_handshake).
  const ownCertificates = settings.certificates.length > 0 || (!chosenByName && !settings.rejectHandshake);
  if (ssl && ownCertificates) {
    const options: TlsServerOptions = {
      pairs: await Promise.all(settings.certificates.map(async (p) => ({
        cert: await read(p.cert, "certificate"),
        key: await read(p.key, "certificate key").finally(() => keyWarning(p.key)),
        certPath: p.cert,
        keyPath: p.key,
      }))),
      passwords: await passwords(settings.passwordFile),
      protocols: settings.protocols,
      ciphers: settings.ciphers,
      preferServerCiphers: settings.preferServerCiphers,
      ecdhCurve: settings.ecdhCurve,
      sessionTimeoutS: Math.floor(settings.sessionTimeoutMs / 1000),
      sessionTickets: settings.sessionTickets,
      verifyClient: settings.verifyClient,
      ca: await caText(read, [settings.clientCertificate]),
      trusted: await caText(read, [settings.trustedCertificate]),
      crl: settings.crl === null ? null : await read(settings.crl, "CRL"),
      alpn: settings.alpn,
    };
    refuseWhatCannot(support, options, runtime);
    try {
      context = support.serverContext(options);
    } catch (e) {
      throw new TlsSetupError(e instanceof TlsConfigError ? e.message : `SSL_CTX_new() failed (${String(e)})`);
    }
  }
  let proxy: RouteTls["proxy"] = null;
  if (settings.proxySsl) {
    const certPath = settings.proxySslCertificate;
    proxy = {
      protocols: settings.proxySslProtocols,
      ciphers: settings.proxySslCiphers,
      ca: await caText(read, [settings.proxySslTrustedCertificate]),
      crl: settings.proxySslCrl === null ? null : await read(settings.proxySslCrl, "CRL"),
      cert: certPath === null || certPath === "" ? null : {
        cert: await read(certPath, "certificate"),
        key: await read(settings.proxySslCertificateKey!, "certificate key").finally(() =>
          keyWarning(settings.proxySslCertificateKey!)
        ),
        passwords: await passwords(settings.proxySslPasswordFile),
      },
    };
    refuseWhatCannot(support, { ...proxy, serverName: null, sessionKey: null }, runtime);
  }
  return { server: context, ssl, settings, proxy, support };
}

async function caText(
  read: (p: string, what: string) => Promise<string>,
  paths: readonly (string | null)[],
): Promise<string | null> {
  const texts = await Promise.all(paths.filter((p): p is string => p !== null).map((p) => read(p, "certificate")));
  return texts.length ? texts.join("\n") : null;
}

function refuseWhatCannot(support: TlsSupport, options: TlsServerOptions | TlsClientOptions, runtime: Runtime): void {
  const why = support.cannot(options);
  if (why !== null) throw new TlsSetupError(`${why} cannot be honoured on ${runtime.name} (${support.library})`);
}
