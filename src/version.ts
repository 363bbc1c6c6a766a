// Kept equal to package.json's version by test/unit/version.test.ts.
export const VERSION = "0.1.0";

/**
 * The nginx whose stream module streamlb follows (names, defaults, messages): Debian 12's,
 * which the e2e tests run beside it. `-V` reports it on nginx's version line.
 */
export const NGINX_COMPATIBLE = "1.22.1";
