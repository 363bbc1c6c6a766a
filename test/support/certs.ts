// Certificates made with Debian's `openssl` at test time: a CA, leaves it signed (server,
// client, a second server name, an expired one) and self-signed ones it did not sign.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Certs {
  readonly dir: string;
  /** Path of NAME.pem / NAME.key in dir. */
  cert(name: string): string;
  key(name: string): string;
  pem(name: string): string;
}

const openssl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

/** ECDSA P-256 keys: quick to make, and what the bench measures. */
function newKey(dir: string, name: string): void {
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
}

function selfSigned(dir: string, name: string, cn: string, ca = false): void {
  newKey(dir, name);
  const ext = ca ? ["-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=keyCertSign,cRLSign"] : [];
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    ...ext,
  ]);
}

/** A leaf signed by ca (with `localhost`-style SAN = cn); `expired` dates it 2020. */
function signed(dir: string, name: string, cn: string, expired = false): void {
  newKey(dir, name);
  openssl(dir, ["req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${cn}\n`);
  if (!expired) {
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ]);
    return;
  }
  // `openssl ca` is the one command that takes explicit dates.
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(
    join(dir, "ca.cnf"),
    `[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n`,
  );
  openssl(dir, [
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.pem",
    "-keyfile",
    "ca.key",
    "-in",
    `${name}.csr`,
    "-out",
    `${name}.pem`,
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-notext",
    "-extfile",
    `${name}.ext`,
  ]);
}

/** ca; localhost (server), second.test (server), client, expired (localhost, 2020); selfsigned, rogue (client). */
export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), "streamlb-certs-"));
  selfSigned(dir, "ca", "streamlb test CA", true);
  signed(dir, "localhost", "localhost");
  signed(dir, "second", "second.test");
  signed(dir, "client", "client");
  signed(dir, "expired", "localhost", true);
  selfSigned(dir, "selfsigned", "localhost");
  selfSigned(dir, "rogue", "client");
  return {
    dir,
    cert: (n) => join(dir, `${n}.pem`),
    key: (n) => join(dir, `${n}.key`),
    pem: (n) => readFileSync(join(dir, `${n}.pem`), "utf8"),
  };
}
