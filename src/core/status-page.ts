// The live status page at the admin endpoint's `/`: one self-contained HTML document (inline
// CSS and JS, nothing fetched but /status), so it works offline, in the binary, and without a
// build step. It polls /status every second and keeps a minute of samples per server for the
// sparklines. Names from the config are set as text, never as HTML.
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamlb status</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2433; --muted:#6b7385; --line:#e3e6ec;
          --up:#1f9d55; --down:#8a94a6; --drain:#d98f00; --bad:#d64545; --accent:#3b6fd8; }
  @media (prefers-color-scheme: dark) {
    :root { --bg:#14171d; --card:#1c2029; --ink:#e6e9ef; --muted:#98a1b3; --line:#2c3240; }
  }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; flex-wrap:wrap; gap:6px 22px; align-items:baseline; padding:14px 22px; background:var(--card); border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0 8px 0 0; }
  header .fact { color:var(--muted); }
  header .fact b { color:var(--ink); font-weight:600; }
  #live { margin-left:auto; display:flex; align-items:center; gap:6px; color:var(--muted); }
  #dot { width:9px; height:9px; border-radius:50%; background:var(--down); }
  #dot.ok { background:var(--up); } #dot.err { background:var(--bad); }
  main { padding:18px 22px; display:grid; gap:18px; }
  section { background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
  section h2 { font-size:15px; margin:0; padding:10px 14px; border-bottom:1px solid var(--line); display:flex; gap:12px; align-items:baseline; }
  section h2 .meta { color:var(--muted); font-weight:400; font-size:13px; }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:right; padding:6px 14px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { color:var(--muted); font-weight:500; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
  th:first-child, td:first-child, td.state, th.state { text-align:left; }
  tr:last-child td { border-bottom:none; }
  td.addr { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; }
  .badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; background:var(--down); }
  .badge.up { background:var(--up); } .badge.draining { background:var(--drain); }
  .badge.unhealthy, .badge.unavail { background:var(--bad); }
  .tag { color:var(--muted); font-size:12px; margin-left:6px; }
  td.spark { width:150px; }
  svg { display:block; }
  .check { color:var(--muted); font-size:12px; max-width:260px; overflow:hidden; text-overflow:ellipsis; }
  #error { display:none; margin:0 22px; padding:10px 14px; border-radius:6px; background:var(--bad); color:#fff; }
  footer { color:var(--muted); padding:0 22px 18px; font-size:12px; }
</style>
</head>
<body>
<header>
  <h1>streamlb</h1>
  <span class="fact">version <b id="version">-</b></span>
  <span class="fact">runtime <b id="runtime">-</b></span>
  <span class="fact">pid <b id="pid">-</b></span>
  <span class="fact">up <b id="uptime">-</b></span>
  <span class="fact">config generation <b id="generation">-</b></span>
  <span class="fact">sessions <b id="sessions">-</b></span>
  <span id="live"><span id="dot"></span><span id="updated">connecting</span></span>
</header>
<div id="error"></div>
<main>
  <section id="listeners-card">
    <h2>Listeners</h2>
    <table>
      <thead><tr><th>Listen</th><th>Upstream</th><th>Active</th><th>Connections</th><th>OK (200)</th><th>Failed (5xx)</th><th>Received</th><th>Sent</th></tr></thead>
      <tbody id="listeners"></tbody>
    </table>
  </section>
  <div id="upstreams" style="display:grid; gap:18px"></div>
</main>
<footer>Polls <code>/status</code> every second; sparklines show the last minute of traffic (bytes per second, area) and active sessions (line). JSON at <code>/status</code>, Prometheus at <code>/metrics</code>.</footer>
<script>
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var token = params.get("token");
  var interval = Math.max(200, Number(params.get("interval")) || 1000);
  var SAMPLES = 60;
  var history = {};   // "upstream|server" -> {t, bytes, rate:[], active:[]}

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function bytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }
  function duration(s) {
    s = Math.floor(s);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m ? m + "m " + (s % 60) + "s" : s + "s";
  }

  function track(key, server, now) {
    var h = history[key];
    var total = server.bytes.sent + server.bytes.received;
    if (!h) { h = history[key] = { t: now, bytes: total, rate: [], active: [] }; }
    var dt = Math.max(0.001, (now - h.t) / 1000);
    h.rate.push(h.rate.length || now > h.t ? Math.max(0, (total - h.bytes) / dt) : 0);
    h.active.push(server.active);
    if (h.rate.length > SAMPLES) { h.rate.shift(); h.active.shift(); }
    h.t = now; h.bytes = total;
    return h;
  }

  function sparkline(h) {
    var w = 140, ht = 28, ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", ht); svg.setAttribute("viewBox", "0 0 " + w + " " + ht);
    function points(values, close) {
      var max = Math.max.apply(null, values.concat([1]));
      var step = w / (SAMPLES - 1), off = (SAMPLES - values.length) * step, pts = [];
      for (var i = 0; i < values.length; i++) pts.push((off + i * step).toFixed(1) + "," + (ht - 2 - values[i] / max * (ht - 4)).toFixed(1));
      if (close && pts.length) pts.push((off + (values.length - 1) * step).toFixed(1) + "," + ht, off.toFixed(1) + "," + ht);
      return pts.join(" ");
    }
    var area = document.createElementNS(ns, "polygon");
    area.setAttribute("points", points(h.rate, true));
    area.setAttribute("fill", "rgba(59,111,216,.25)");
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points(h.active, false));
    line.setAttribute("fill", "none"); line.setAttribute("stroke", "#3b6fd8"); line.setAttribute("stroke-width", "1.5");
    svg.appendChild(area); svg.appendChild(line);
    var title = document.createElementNS(ns, "title");
    title.textContent = bytes(h.rate[h.rate.length - 1] || 0) + "/s, " + (h.active[h.active.length - 1] || 0) + " active";
    svg.appendChild(title);
    return svg;
  }

  function renderListeners(list) {
    var body = $("listeners");
    body.textContent = "";
    list.forEach(function (l) {
      var tr = el("tr");
      tr.setAttribute("data-listener", l.address);
      var failed = 0;
      Object.keys(l.sessions).forEach(function (k) { if (k >= "500") failed += l.sessions[k]; });
      [l.listen, l.upstream, l.connections.active, l.connections.total, l.sessions["200"] || 0, failed,
       bytes(l.bytes.received), bytes(l.bytes.sent)].forEach(function (v, i) { tr.appendChild(el("td", i === 0 ? "addr" : "", v)); });
      body.appendChild(tr);
    });
  }

  function renderUpstreams(upstreams, now) {
    var root = $("upstreams");
    root.textContent = "";
    Object.keys(upstreams).forEach(function (name) {
      var u = upstreams[name];
      var sec = el("section");
      sec.setAttribute("data-upstream", name);
      var h2 = el("h2", "", name);
      h2.appendChild(el("span", "meta", u.method + " \\u00b7 " + u.servers_up + "/" + u.servers_total + " up" +
        (u.state_file ? " \\u00b7 state " + u.state_file : "")));
      sec.appendChild(h2);
      var table = el("table");
      var head = el("tr");
      ["Server", "State", "Weight", "Active", "Sessions", "Failures", "Sent", "Received", "Health check", "Traffic"].forEach(function (t, i) {
        head.appendChild(el("th", i === 1 ? "state" : "", t));
      });
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var tbody = el("tbody");
      u.servers.forEach(function (s) {
        var tr = el("tr");
        tr.setAttribute("data-server", s.address);
        tr.setAttribute("data-state", s.state);
        var addr = el("td", "addr", s.address);
        if (s.backup) addr.appendChild(el("span", "tag", "backup"));
        tr.appendChild(addr);
        var st = el("td", "state");
        st.appendChild(el("span", "badge " + s.state, s.state));
        tr.appendChild(st);
        tr.appendChild(el("td", "weight", s.weight));
        tr.appendChild(el("td", "active", s.active));
        tr.appendChild(el("td", "total", s.connections_total));
        tr.appendChild(el("td", "failures", s.connect_failures));
        tr.appendChild(el("td", "", bytes(s.bytes.sent)));
        tr.appendChild(el("td", "", bytes(s.bytes.received)));
        var check = s.last_check ? (s.last_check.ok ? "passed" : "failed") + ": " + s.last_check.detail
                                 : (s.health === "unchecked" ? "-" : s.health);
        var ct = el("td", "check", check);
        ct.title = s.last_check ? s.last_check.at : "";
        tr.appendChild(ct);
        var sp = el("td", "spark");
        sp.appendChild(sparkline(track(name + "|" + s.address, s, now)));
        tr.appendChild(sp);
        tbody.appendChild(tr);
      });
      table.appendChild(tbody);
      sec.appendChild(table);
      root.appendChild(sec);
    });
  }

  function render(s) {
    var now = Date.now();
    $("version").textContent = s.version;
    $("runtime").textContent = s.runtime.name + " " + s.runtime.version;
    $("pid").textContent = s.pid;
    $("uptime").textContent = duration(s.uptime_seconds);
    $("generation").textContent = s.config.generation;
    $("sessions").textContent = s.sessions.active;
    renderListeners(s.listeners);
    renderUpstreams(s.upstreams, now);
    $("dot").className = s.accepting ? "ok" : "err";
    $("updated").textContent = (s.accepting ? "live" : "stopping") + " \\u00b7 " + new Date(now).toLocaleTimeString();
    $("error").style.display = "none";
    document.body.setAttribute("data-updated", String(now));
  }

  function poll() {
    var headers = token ? { Authorization: "Bearer " + token } : {};
    fetch("status", { headers: headers, cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status === 401 ? "401: open this page with ?token=YOUR_TOKEN" : "HTTP " + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (e) {
        $("dot").className = "err";
        $("updated").textContent = "disconnected";
        var box = $("error");
        box.textContent = "Cannot read /status: " + e.message + " (retrying)";
        box.style.display = "block";
      })
      .then(function () { setTimeout(poll, interval); });
  }
  poll();
})();
</script>
</body>
</html>
`;
