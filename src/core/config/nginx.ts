// The nginx.conf reader's entry points, at the path its users have always imported; the
// reader itself lives in read-nginx/.
export { loadNginxConfig, type NginxLoadOptions, type NginxLoadResult, parseUpstreamState } from "./read-nginx/reader.ts";
export { type ConfigFiles, type ConfigWarning, describeFileError, formatWarning } from "./read-nginx/files.ts";
