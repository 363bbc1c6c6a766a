// The [notice] a reload logs: what it opened, closed, added and removed, in one line.
import type { UpstreamChange } from "./upstream.ts";

export function reloadSummary(
  generation: number,
  opened: string[],
  closed: string[],
  addedUpstreams: Set<string>,
  removedUpstreams: string[],
  changes: Map<string, UpstreamChange>,
): string {
  const parts = [`reconfigured (generation ${generation})`];
  if (opened.length) parts.push(`listening on ${opened.join(" ")}`);
  if (closed.length) parts.push(`stopped listening on ${closed.join(" ")}`);
  if (addedUpstreams.size) parts.push(`new upstreams ${[...addedUpstreams].join(" ")}`);
  if (removedUpstreams.length) parts.push(`removed upstreams ${removedUpstreams.join(" ")}`);
  for (const [name, c] of changes) {
    if (c.added.length || c.removed.length) {
      const detail = [...c.added.map((a) => `+${a}`), ...c.removed.map((a) => `-${a}`)].join(" ");
      parts.push(`upstream ${name}: ${detail}`);
    }
  }
  if (parts.length === 1) parts.push("no changes to listeners or servers");
  return parts.join("; ");
}
