/* The device page's chart: fetches the API's aggregates (GET, session cookie) and draws them
   with uPlot, times on the site's clock. A measured metric is its average with the
   lowest-highest band; an on/off metric (data-state-on/off) is a band of its "on" times, in its
   own words. On top: the limits of the threshold rules (#chart-limits) as dashed lines, the
   alerts of the range (#chart-alerts) as markers, and a second metric on its own axis
   (data-compare-src). Drag across to zoom in; "Reset zoom" or a double-click to zoom out.
   Texts come from the page (data-* attributes and its lists), so they are translated. */
(function () {
  "use strict";
  var el = document.getElementById("chart");
  var summary = document.getElementById("chart-summary");
  var noData = document.getElementById("chart-no-data");
  var reset = document.getElementById("chart-reset");
  if (!el || !window.uPlot) return;
  var d = el.dataset;

  var COLOURS = { critical: "#a3001b", warning: "#b35f00", info: "#2f4f68" };
  var MAIN = "#0b4f9c", SECOND = "#8a3ffc";

  function finish(state, text) {
    el.dataset.state = state;
    if (summary && text) summary.textContent = text;
  }

  // Values as the page's language writes numbers, with the metric's unit ("81.5%").
  var lang = document.documentElement.lang || undefined;
  var digits = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  var percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  function formatter(pattern) {
    pattern = pattern || "{value}";
    return function (value) {
      return value == null ? "--" : pattern.replace("{value}", digits.format(value));
    };
  }
  function unitOf(pattern) { return (pattern || "{value}").replace("{value}", "").trim(); }
  function axisName(name, pattern) {
    var unit = unitOf(pattern);
    return unit ? name + " (" + unit + ")" : name;
  }
  var fmt = formatter(d.valuePattern);
  var isState = d.stateOn !== undefined;

  // From the page's lists: the limits and the alerts, with their severities.
  function items(id) {
    var list = document.getElementById(id);
    return list ? Array.prototype.slice.call(list.querySelectorAll("li")) : [];
  }
  var limits = items("chart-limits").map(function (li) {
    return {
      value: Number(li.dataset.value),
      clear: li.dataset.clear === "" ? null : Number(li.dataset.clear),
      colour: COLOURS[li.dataset.severity] || COLOURS.warning
    };
  });
  var alerts = items("chart-alerts").map(function (li) {
    return {
      at: Number(li.dataset.at),
      until: li.dataset.until === "" ? null : Number(li.dataset.until),
      colour: COLOURS[li.dataset.severity] || COLOURS.warning
    };
  });

  // A bucket's state: on if the metric was on at any time in it (a door opened for a minute
  // in an hour shows), off if it stayed off.
  function states(b) {
    return b.max.map(function (v) { return v == null ? null : (v >= 0.5 ? 1 : 0); });
  }

  function stateAxis(on, off) {
    return function (u, splits) {
      return splits.map(function (v) { return v === 1 ? on : (v === 0 ? off : ""); });
    };
  }

  function drawLimits(u) {
    if (isState || !limits.length) return;
    var ctx = u.ctx, box = u.bbox;
    ctx.save();
    ctx.font = Math.round(12 * devicePixelRatio) + "px system-ui, sans-serif";
    ctx.textAlign = "left";  // alert markers are mostly on the right, at the recent end
    limits.forEach(function (limit) {
      [[limit.value, [8, 4], 2], [limit.clear, [2, 4], 1]].forEach(function (line) {
        if (line[0] == null) return;
        var y = Math.round(u.valToPos(line[0], "y", true));
        if (y < box.top || y > box.top + box.height) return;
        ctx.strokeStyle = limit.colour;
        ctx.fillStyle = limit.colour;
        ctx.lineWidth = line[2] * devicePixelRatio;
        ctx.setLineDash(line[1].map(function (n) { return n * devicePixelRatio; }));
        ctx.beginPath();
        ctx.moveTo(box.left, y);
        ctx.lineTo(box.left + box.width, y);
        ctx.stroke();
        if (line[0] === limit.value) {
          ctx.fillText(d.labelLimit + " " + fmt(limit.value), box.left + 4 * devicePixelRatio,
                       y - 4 * devicePixelRatio);
        }
      });
    });
    ctx.restore();
  }

  function drawAlerts(u) {
    if (!alerts.length) return;
    var ctx = u.ctx, box = u.bbox, size = 7 * devicePixelRatio;
    var min = u.scales.x.min, max = u.scales.x.max;
    ctx.save();
    alerts.forEach(function (alert) {
      var from = Math.max(alert.at, min), to = Math.min(alert.until == null ? max : alert.until, max);
      if (to < min || from > max) return;
      var x0 = u.valToPos(from, "x", true), x1 = u.valToPos(to, "x", true);
      // The time it was unresolved, shaded; a marker where it was raised.
      ctx.globalAlpha = 0.1;
      ctx.fillStyle = alert.colour;
      ctx.fillRect(x0, box.top, Math.max(x1 - x0, 1), box.height);
      ctx.globalAlpha = 1;
      if (alert.at < min) return;
      ctx.strokeStyle = alert.colour;
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.moveTo(x0, box.top);
      ctx.lineTo(x0, box.top + box.height);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x0 - size, box.top);
      ctx.lineTo(x0 + size, box.top);
      ctx.lineTo(x0, box.top + 1.6 * size);
      ctx.closePath();
      ctx.fill();
    });
    ctx.restore();
  }

  // The y range of a measured metric takes in its limits, so that they are always in view.
  function valueRange(u, low, high) {
    limits.forEach(function (limit) {
      low = Math.min(low, limit.value);
      high = Math.max(high, limit.value);
    });
    if (low === high) { low -= 1; high += 1; }
    var pad = (high - low) * 0.08;
    return [low - pad, high + pad];
  }

  function draw(main, second) {
    var b = main.buckets;
    if (!b.start.length) {
      finish("empty", d.textEmpty);
      if (noData) noData.hidden = false;
      return;
    }
    var zone = main.timezone || d.zone;
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
    var stepped = uPlot.paths.stepped({ align: 1 });
    var series = [{
      label: d.labelTime,
      value: function (u, ts) { return ts == null ? "--" : full.format(new Date(ts * 1000)); }
    }];
    var columns = [b.start];
    var axes = [{ values: function (u, splits) { return splits.map(tick); } }];
    // The whole range asked for, not just where there is data (set once drawn, below): gaps
    // and a lone point show where they are in time.
    var scales = { x: { time: true } };
    var bands = [];
    if (isState) {
      series.push({
        label: d.metric, scale: "y", stroke: MAIN, width: 2, fill: "rgba(11, 79, 156, 0.25)",
        paths: stepped,
        value: function (u, v) { return v == null ? "--" : (v ? d.stateOn : d.stateOff); }
      });
      columns.push(states(b));
      scales.y = { range: [0, 1.1] };
      axes.push({ label: d.metric, splits: function () { return [0, 1]; },
                  values: stateAxis(d.stateOn, d.stateOff), size: 80 });
    } else {
      series.push(
        { label: d.labelAvg, scale: "y", stroke: MAIN, width: 2, value: function (u, v) { return fmt(v); } },
        { label: d.labelMin, scale: "y", stroke: "#6b8fb8", width: 1, value: function (u, v) { return fmt(v); } },
        { label: d.labelMax, scale: "y", stroke: "#6b8fb8", width: 1, value: function (u, v) { return fmt(v); } }
      );
      columns.push(b.avg, b.min, b.max);
      bands.push({ series: [3, 2], fill: "rgba(11, 79, 156, 0.12)" });
      scales.y = { range: valueRange };
      axes.push({
        // Plain numbers on the ticks, the unit once in the axis' name.
        label: axisName(d.metric, d.valuePattern),
        values: function (u, splits) { return splits.map(function (v) { return digits.format(v); }); }
      });
    }
    var data = columns;
    if (second && second.buckets.start.length) {
      var s = second.buckets, secondState = d.compareStateOn !== undefined;
      var secondFmt = formatter(d.comparePattern);
      series.push({
        label: d.compareMetric, scale: "y2", stroke: SECOND, width: 2,
        paths: secondState ? stepped : undefined, spanGaps: false,
        value: function (u, v) {
          if (v == null) return "--";
          return secondState ? (v ? d.compareStateOn : d.compareStateOff) : secondFmt(v);
        }
      });
      scales.y2 = secondState ? { range: [0, 1.1] } : {};
      axes.push(secondState
        ? { scale: "y2", side: 1, label: d.compareMetric, grid: { show: false },
            splits: function () { return [0, 1]; },
            values: stateAxis(d.compareStateOn, d.compareStateOff), size: 80 }
        : { scale: "y2", side: 1, label: axisName(d.compareMetric, d.comparePattern), grid: { show: false },
            values: function (u, splits) { return splits.map(function (v) { return digits.format(v); }); } });
      // One time axis for both: uPlot.join lines the two up (null where one has no bucket).
      var joined = uPlot.join([columns, [s.start, secondState ? states(s) : s.avg]]);
      data = joined;
      el.dataset.compare = "drawn";
    } else if (second) {
      el.dataset.compare = "empty";
    }
    var opts = {
      width: width,
      height: width < 500 ? 260 : 340,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), zone); },
      scales: scales,
      series: series,
      bands: bands,
      axes: axes,
      cursor: { drag: { x: true, y: false, setScale: true } },
      hooks: {
        draw: [drawAlerts, drawLimits],
        setScale: [function (u, key) {
          if (key !== "x" || !reset) return;
          var zoomed = u.scales.x.min > start + 1 || u.scales.x.max < end - 1;
          reset.hidden = !zoomed;
          el.dataset.zoomed = zoomed ? "yes" : "no";
        }]
      }
    };
    var plot = new uPlot(opts, data, el);
    plot.setScale("x", { min: start, max: end });
    el.dataset.limits = String(isState ? 0 : limits.length);
    el.dataset.alerts = String(alerts.length);
    el.dataset.kind = isState ? "state" : "measure";
    finish("drawn", isState ? stateSummary(b) : measureSummary(b));
    if (reset) {
      reset.addEventListener("click", function () {
        plot.setScale("x", { min: start, max: end });
      });
    }
    // A double-click zooms out to the whole range (uPlot's own goes to the data's extent).
    plot.over.addEventListener("dblclick", function () {
      plot.setScale("x", { min: start, max: end });
    });
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(280, el.clientWidth), height: opts.height });
    });
  }

  function measureSummary(b) {
    var low = Math.min.apply(null, b.min);
    var high = Math.max.apply(null, b.max);
    var total = 0, samples = 0;
    for (var i = 0; i < b.avg.length; i++) { total += b.avg[i] * b.count[i]; samples += b.count[i]; }
    return d.textSummary.replace("{low}", fmt(low)).replace("{high}", fmt(high))
      .replace("{mean}", fmt(samples ? total / samples : 0));
  }

  function stateSummary(b) {
    // The average of a 0/1 metric is the share of samples that were on.
    var on = 0, samples = 0;
    for (var i = 0; i < b.avg.length; i++) { on += b.avg[i] * b.count[i]; samples += b.count[i]; }
    return d.textStateSummary.replace("{on}", d.stateOn)
      .replace("{share}", percent.format(samples ? on / samples : 0));
  }

  function load(src) {
    return fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      });
  }

  finish("loading", d.textLoading);
  Promise.all([load(d.src), d.compareSrc ? load(d.compareSrc) : Promise.resolve(null)])
    .then(function (both) { draw(both[0], both[1]); })
    .catch(function () { finish("error", d.textError); });
})();
