// Turns a server{}'s ssl_* and proxy_ssl_* settings into what a session needs: the server
// context (certificates loaded, checked and compiled, as nginx does at start and on reload)
// and the options of TLS toward its upstream. Every failure names its file in nginx's words,
// and a setting the runtime's library cannot honour is refused naming the runtime.
import { describeFileError } from "../config/read-nginx/files.ts";
import type { ServerConfig, ServerTlsConfig } from "../config/model.ts";
import { certificatePairHasVariables, DEFAULT_TLS, isInlinePem } from "../config/tls-config.ts";
import type { CertificateValues } from "../variables/stream-variables.ts";
import { HandshakeCertificates } from "./ssl-certificates.ts";
import type { Runtime, TlsSupport } from "../runtime.ts";
import { type TlsClientOptions, TlsConfigError, type TlsServerContext, type TlsServerOptions } from "../runtime-tls.ts";

/** A route's TLS, compiled once per config. */
export interface RouteTls {
  /** null: the listener is plain TCP, or the server has no certificates (another's serve it). */
  readonly server: TlsServerContext | null;
  /** The listener is `listen … ssl`: its clients go through the ssl phase. */
  readonly ssl: boolean;
  readonly settings: ServerTlsConfig;
  /**
   * Variables in ssl_certificate: each handshake's certificates (then `server` has none and
   * serves only a handshake that never gets that far); null when they were loaded once.
   */
  readonly certificates?: HandshakeCertificates | null;
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
  /** ssl_certificate pairs with variables, compiled (absent for `-t`, which loads none of them). */
  certificateValues: readonly CertificateValues[] | null = null,
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
  const pem = (path: string, what: string) => (isInlinePem(path) ? Promise.resolve(path.slice(5)) : read(path, what));
  const passwords = async (path: string | null) =>
    path === null ? [] : (await read(path, "password file")).split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l !== "");
  let context: TlsServerContext | null = null;
  let perHandshake: HandshakeCertificates | null = null;
  // A server rejecting every handshake it gets needs no certificate (ssl_reject_handshake).
  const ownCertificates = settings.certificates.length > 0 || (!chosenByName && !settings.rejectHandshake);
  if (ssl && ownCertificates) {
    const variable = settings.certificates.some(certificatePairHasVariables);
    const options: TlsServerOptions = {
      // With variables, nothing is loaded now: each handshake loads its own (nginx too).
      pairs: variable ? [] : await Promise.all(settings.certificates.map(async (p) => ({
        cert: await pem(p.cert, "certificate"),
        key: await pem(p.key, "certificate key").finally(() => isInlinePem(p.key) || keyWarning(p.key)),
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
      ...(variable && { certificatesPerHandshake: settings.certificates.map((p) => `${p.cert} ${p.key}`).join("\n") }),
      ...(settings.sessionTicketKeys.length > 0 && {
        ticketKeys: await Promise.all(settings.sessionTicketKeys.map((p) => ticketKeyFile(runtime, p))),
      }),
    };
    refuseWhatCannot(support, options, runtime);
    if (variable && !support.withCertificates) {
      throw new TlsSetupError(
        `variables in "ssl_certificate" and "ssl_certificate_key" directives are not supported on ${runtime.name} (${support.library})`,
      );
    }
    try {
      context = support.serverContext(options);
    } catch (e) {
      throw new TlsSetupError(e instanceof TlsConfigError ? e.message : `SSL_CTX_new() failed (${String(e)})`);
    }
    if (variable && certificateValues) {
      const base = settings.certificates.find((p) => p.base !== undefined)?.base ?? null;
      const readText = (path: string) => runtime.readTextFile(path);
      perHandshake = new HandshakeCertificates(certificateValues, base, context, support.withCertificates!, readText);
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
  return { server: context, ssl, settings, proxy, support, certificates: perHandshake };
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

/** ssl_session_ticket_key FILE: 48 or 80 bytes, checked as nginx checks them. */
async function ticketKeyFile(runtime: Runtime, path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await runtime.readFile(path);
  } catch (e) {
    throw new TlsSetupError(`open() "${path}" failed (${describeFileError(e)})`);
  }
  if (bytes.length !== 48 && bytes.length !== 80) throw new TlsSetupError(`"${path}" must be 48 or 80 bytes`);
  return bytes;
}
