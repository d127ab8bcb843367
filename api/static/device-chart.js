/* The device page's chart: fetches the API's aggregates (GET, session cookie) and draws the
   average with the lowest-highest band with uPlot, times on the site's clock. Texts come from
   the page's data-* attributes, so they are translated. */
(function () {
  "use strict";
  var el = document.getElementById("chart");
  var summary = document.getElementById("chart-summary");
  if (!el || !window.uPlot) return;
  var d = el.dataset;

  function finish(state, text) {
    el.dataset.state = state;
    if (summary && text) summary.textContent = text;
  }

  // Values as the page's language writes numbers, with the metric's unit ("81.5%").
  var lang = document.documentElement.lang || undefined;
  var digits = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  var pattern = d.valuePattern || "{value}";
  function fmt(value) {
    return value == null ? "--" : pattern.replace("{value}", digits.format(value));
  }
  function legendValue(u, value) { return fmt(value); }
  var unit = pattern.replace("{value}", "").trim();

  function draw(data) {
    var b = data.buckets;
    if (!b.start.length) {
      finish("empty", d.textEmpty);
      return;
    }
    var zone = data.timezone || d.zone;
    var width = Math.max(280, el.clientWidth);
    // Times on the site's clock, written the page language's way.
    var start = Number(d.start), end = Number(d.end);
    // A tick at local midnight names its day, any other its hour: a week reads
    // "11月24日 12:00 11月25日", not the same day twice.
    var dayTick = new Intl.DateTimeFormat(lang, { timeZone: zone, month: "short", day: "numeric" });
    var hourTick = new Intl.DateTimeFormat(lang, {
      timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    });
    function tick(ts) {
      var at = new Date(ts * 1000);
      var hour = hourTick.format(at);
      return hour === "00:00" ? dayTick.format(at) : hour;
    }
    var full = new Intl.DateTimeFormat(lang, {
      timeZone: zone, year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    });
    var opts = {
      width: width,
      height: width < 500 ? 260 : 340,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), zone); },
      // The whole range asked for, not just where there is data: gaps and a lone point show
      // where they are in time.
      scales: { x: { time: true, range: [start, end] } },
      series: [
        {
          label: d.labelTime,
          value: function (u, ts) { return ts == null ? "--" : full.format(new Date(ts * 1000)); }
        },
        { label: d.labelAvg, stroke: "#0b4f9c", width: 2, value: legendValue },
        { label: d.labelMin, stroke: "#6b8fb8", width: 1, value: legendValue },
        { label: d.labelMax, stroke: "#6b8fb8", width: 1, value: legendValue }
      ],
      bands: [{ series: [3, 2], fill: "rgba(11, 79, 156, 0.12)" }],
      axes: [
        {
          values: function (u, splits) {
            return splits.map(tick);
          }
        },
        {
          // Plain numbers on the ticks, the unit once in the axis' name.
          label: unit ? d.metric + " (" + unit + ")" : d.metric,
          values: function (u, splits) { return splits.map(function (v) { return digits.format(v); }); }
        }
      ]
    };
    var plot = new uPlot(opts, [b.start, b.avg, b.min, b.max], el);
    var low = Math.min.apply(null, b.min);
    var high = Math.max.apply(null, b.max);
    var total = 0, samples = 0;
    for (var i = 0; i < b.avg.length; i++) { total += b.avg[i] * b.count[i]; samples += b.count[i]; }
    var text = d.textSummary.replace("{low}", fmt(low)).replace("{high}", fmt(high))
      .replace("{mean}", fmt(samples ? total / samples : 0));
    finish("drawn", text);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(280, el.clientWidth), height: opts.height });
    });
  }

  finish("loading", d.textLoading);
  fetch(d.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    })
    .then(draw)
    .catch(function () { finish("error", d.textError); });
})();
