// The nginx.conf reader's entry points, at the path its users have always imported; the
// reader itself lives in read-nginx/.
export { loadNginxConfig, parseUpstreamState, type NginxLoadOptions, type NginxLoadResult } from "./read-nginx/reader.ts";
export { describeFileError, formatWarning, type ConfigFiles, type ConfigWarning } from "./read-nginx/files.ts";
