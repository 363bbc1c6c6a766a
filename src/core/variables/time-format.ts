// nginx's time texts ($msec, $session_time, $time_local, $time_iso8601). nginx formats
// from a clock cached per second, so texts of one second are computed once here too.

/** nginx's "%T.%03M": seconds with millisecond resolution; negatives clamp to 0. */
export function seconds(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  return `${Math.floor(whole / 1000)}.${String(whole % 1000).padStart(3, "0")}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => String(n).padStart(2, "0");

let localSecond = Number.NaN;
let localText = "";
let isoSecond = Number.NaN;
let isoText = "";

function offset(d: Date, colon: boolean): string {
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  return `${off < 0 ? "-" : "+"}${p2(Math.floor(abs / 60))}${colon ? ":" : ""}${p2(abs % 60)}`;
}

/** `21/Nov/2026:05:20:00 +0000`, local time. */
export function timeLocal(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== localSecond) {
    const d = new Date(second * 1000);
    localText = `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:` +
      `${p2(d.getSeconds())} ${offset(d, false)}`;
    localSecond = second;
  }
  return localText;
}

/** `2026-11-21T05:20:00+00:00`, local time. */
export function timeIso8601(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const d = new Date(second * 1000);
    isoText = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:` +
      `${p2(d.getSeconds())}${offset(d, true)}`;
    isoSecond = second;
  }
  return isoText;
}
