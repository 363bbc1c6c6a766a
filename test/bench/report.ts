// Turns the samples into tables: one side-by-side summary (median, and the ratio of each
// row to nginx in the same run) and one detail table per scenario (min–max, extras, CPU).
import { SCENARIO_DEFS, type ScenarioName } from "./scenarios.ts";

export interface Sample {
  readonly value: number;
  readonly extras: Readonly<Record<string, number>>;
  readonly errors: number;
  /**
   * Balancer CPU (utime+stime) over the run's wall time, in % of one core; null when direct.
   * For a master and its workers, the sum over all of them (up to 200 % on 2 CPUs).
   */
  readonly cpuPct: number | null;
  /** For a master and its workers: each one's share of cpuPct, the master first. */
  readonly processCpuPct?: readonly number[];
}

export type Results = Map<ScenarioName, Map<string, Sample[] | string>>; // string = why it failed

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|")}|`;
  return [line(head), sep, ...rows.map(line)].join("\n");
}

function summaryOf(samples: Sample[] | string | undefined) {
  if (!samples || typeof samples === "string") return null;
  const values = samples.map((s) => s.value);
  const cpus = samples.map((s) => s.cpuPct).filter((c): c is number => c !== null);
  const extraKeys = Object.keys(samples[0]?.extras ?? {});
  return {
    med: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    cpu: cpus.length ? median(cpus) : null,
    extras: Object.fromEntries(extraKeys.map((k) => [k, median(samples.map((s) => s.extras[k] ?? Number.NaN))])),
    errors: samples.reduce((n, s) => n + s.errors, 0),
  };
}

/** Ratio of a row to nginx's median: value / nginx. */
function ratio(results: Results, scenario: ScenarioName, target: string, value: number): string {
  if (target === "nginx") return "1.00";
  const n = summaryOf(results.get(scenario)?.get("nginx"));
  return n && n.med > 0 ? (value / n.med).toFixed(2) : "–";
}

export function summaryTable(results: Results, scenarios: readonly ScenarioName[], targets: readonly string[]): string {
  const head = ["target"];
  for (const s of scenarios) {
    const d = SCENARIO_DEFS[s];
    head.push(`${s} ${d.unit}`);
    if (s === "keepalive") head.push("keepalive p99 ms");
    if (s === "rtt1" || s === "rtt100") head.push(`${s} p99 µs`);
  }
  const rows = targets.map((t) => {
    const row = [t];
    for (const s of scenarios) {
      const sum = summaryOf(results.get(s)?.get(t));
      const withExtra = s === "keepalive" || s === "rtt1" || s === "rtt100";
      if (!sum) {
        row.push(typeof results.get(s)?.get(t) === "string" ? "error" : "–");
        if (withExtra) row.push("–");
        continue;
      }
      row.push(`${fmt(sum.med)} (${ratio(results, s, t, sum.med)})`);
      if (withExtra) row.push(`${fmt(sum.extras["p99"] ?? Number.NaN)}`);
    }
    return row;
  });
  const note = multiWorkerNote(targets);
  return note ? `${table(head, rows)}\n\n${note}` : table(head, rows);
}

/** Targets that run as a master and 2 workers (bench.ts's WORKERS). */
const isMultiWorker = (t: string) => /-w\d+$/.test(t);

/** What the -w2 rows are, for under the tables that hold them (empty when none does). */
export function multiWorkerNote(targets: readonly string[]): string {
  const multi = targets.filter(isMultiWorker);
  if (!multi.length) return "";
  return (
    `${multi.join(" and ")}: 2 worker processes under a master (nginx \`worker_processes 2\` with \`reuseport\`; ` +
    `streamlb \`worker_processes: 2\`, SO_REUSEPORT), allowed on both CPUs, so the second worker shares CPU 1 ` +
    `with the load generators and backends: what 2 workers give on this 2-core machine, not on 2 free cores. ` +
    `Their balancer CPU % (up to 200) and RSS are summed over the master and the workers. ` +
    `"× nginx" is always against nginx with 1 worker on CPU 0 alone.`
  );
}

export function detailTables(results: Results, scenarios: readonly ScenarioName[], targets: readonly string[]): string {
  const out: string[] = [];
  for (const s of scenarios) {
    const d = SCENARIO_DEFS[s];
    // Work per balancer CPU-second: where the load generator, not the balancer, is the limit
    // (bulk on loopback), this is the fairer comparison of the balancers' own cost.
    const perCpu = d.higherIsBetter;
    const head = [
      "target",
      `median ${d.unit}`,
      "min–max",
      "× nginx",
      ...d.extras.map((e) => `${e.label} ${e.unit}`),
      "balancer CPU %",
      ...(perCpu ? [`${d.unit.replace("/s", "")} per CPU-s`, "× nginx"] : []),
      "errors",
    ];
    const nginxEff = (() => {
      const n = summaryOf(results.get(s)?.get("nginx"));
      return n && n.cpu ? (n.med * 100) / n.cpu : Number.NaN;
    })();
    const rows: string[][] = [];
    for (const t of targets) {
      const r = results.get(s)?.get(t);
      if (r === undefined) continue;
      if (typeof r === "string") {
        rows.push([
          t,
          "error",
          r.slice(0, 60).replace(/\s+/g, " "),
          "",
          ...d.extras.map(() => ""),
          "",
          ...(perCpu ? ["", ""] : []),
          "",
        ]);
        continue;
      }
      const sum = summaryOf(r)!;
      rows.push([
        t,
        fmt(sum.med),
        `${fmt(sum.min)}–${fmt(sum.max)}`,
        ratio(results, s, t, sum.med),
        ...d.extras.map((e) => fmt(sum.extras[e.key] ?? Number.NaN)),
        sum.cpu === null ? "–" : sum.cpu.toFixed(0),
        ...(perCpu
          ? sum.cpu ? [fmt((sum.med * 100) / sum.cpu), (((sum.med * 100) / sum.cpu) / nginxEff).toFixed(2)] : ["–", "–"]
          : []),
        String(sum.errors),
      ]);
    }
    out.push(`### ${d.title}\n\n${table(head, rows)}`);
  }
  return out.join("\n\n");
}
