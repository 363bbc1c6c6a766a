// `zone`, `resolver` and `resolver_timeout` written back in each spelling, for stream{} and
// for an upstream{} (what yaml-resolve.ts and read-nginx/resolve.ts read).
import type { ResolverConfig, ZoneConfig } from "../model.ts";
import { resolverWords, zoneWords } from "../resolver.ts";
import { formatSize, formatTime } from "../values/units.ts";

interface Holder {
  readonly zone?: ZoneConfig | null;
  readonly resolver?: ResolverConfig | null;
  readonly resolverTimeoutMs?: number | null;
}

export function nginxResolverLines(h: Holder, word: (w: string) => string): string[] {
  const out: string[] = [];
  if (h.zone) out.push(`zone ${zoneWords(h.zone).map(word).join(" ")};`);
  if (h.resolver) out.push(`resolver ${resolverWords(h.resolver).map(word).join(" ")};`);
  if (h.resolverTimeoutMs != null) out.push(`resolver_timeout ${formatTime(h.resolverTimeoutMs)};`);
  return out;
}

export function yamlResolverLines(h: Holder, indent: string, scalar: (v: string) => string): string[] {
  const out: string[] = [];
  if (h.zone) {
    out.push(
      h.zone.size === null
        ? `${indent}zone: ${scalar(h.zone.name)}`
        : `${indent}zone: { name: ${scalar(h.zone.name)}, size: ${formatSize(h.zone.size)} }`,
    );
  }
  const r = h.resolver;
  if (r) {
    const fields = [`addresses: [${r.addresses.map(scalar).join(", ")}]`];
    if (r.validMs !== null) fields.push(`valid: ${formatTime(r.validMs)}`);
    if (!r.ipv4) fields.push("ipv4: false");
    if (!r.ipv6) fields.push("ipv6: false");
    out.push(`${indent}resolver: { ${fields.join(", ")} }`);
  }
  if (h.resolverTimeoutMs != null) out.push(`${indent}resolver_timeout: ${formatTime(h.resolverTimeoutMs)}`);
  return out;
}
