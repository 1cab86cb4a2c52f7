/* Charts of the workbench and the statistics page (Apache ECharts). Each element with data-chart names a
   chart kind and data-src the JSON endpoint it reads; words come from the #chart-labels block. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var L = JSON.parse((document.getElementById("chart-labels") || {}).textContent || "{}");
  var cache = {};
  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
    }
    return cache[url];
  }
  var grid = {left: 48, right: 16, top: 36, bottom: 40, containLabel: true};
  function bars(categories, series, opts) {
    return Object.assign({tooltip: {trigger: "axis"}, legend: {top: 0}, grid: grid,
      xAxis: {type: "category", data: categories, axisLabel: {interval: 0, overflow: "truncate", width: 90}},
      yAxis: {type: "value"}, series: series}, opts || {});
  }
  function pie(items) {
    items = items.filter(function (i) { return i.value > 0; });  // all zero: an empty ring, not equal slices
    return {tooltip: {trigger: "item"}, legend: {bottom: 0, type: "scroll"},
      series: [{type: "pie", radius: ["35%", "65%"], top: 0, bottom: 28, label: {show: false}, data: items}]};
  }
  var kinds = {
    by_year: function (d) {
      var rows = d.by_year || [];
      return bars(rows.map(function (r) { return String(r.year); }), [
        {name: L.completed, type: "bar", data: rows.map(function (r) { return r.completed; })},
        {name: L.rate, type: "line", yAxisIndex: 1, data: rows.map(function (r) { return r.completion_rate; })}
      ], {yAxis: [{type: "value"}, {type: "value", max: 100}]});
    },
    own_hours: function (d) {
      var own = d.own || {hours: {}}, req = own.required || {};
      var keys = ["public", "professional", "elective", "total"];
      return bars(keys.map(function (k) { return L[k]; }), [
        {name: L.done, type: "bar", data: keys.map(function (k) { return own.hours[k] || 0; })},
        {name: L.required, type: "bar", data: keys.map(function (k) { return req[k] || 0; })}
      ]);
    },
    subjects: function (d) {
      return pie(["public", "professional", "elective"].map(function (k) {
        return {name: L[k], value: d.hours[k]};
      }));
    },
    forms: function (d) {
      return pie((d.by_learning_form || []).map(function (r) {
        return {name: L[r.learning_form] || r.learning_form, value: r.hours};
      }));
    },
    organisations: function (d) {
      var rows = d.by_organisation || [];
      return bars(rows.map(function (r) { return r.organisation; }), [
        {name: L.people, type: "bar", data: rows.map(function (r) { return r.people; })},
        {name: L.completed, type: "bar", data: rows.map(function (r) { return r.completed; })}
      ]);
    },
    titles: function (d) {
      var rows = d.titles || [], series = [], levels = [], names = [];
      rows.forEach(function (r) {
        var s = r.series_label || L.unknown, l = r.level_label || L.unknown;
        if (names.indexOf(s) < 0) { names.push(s); }
        if (levels.indexOf(l) < 0) { levels.push(l); }
      });
      levels.forEach(function (l) {
        series.push({name: l, type: "bar", stack: "t", data: names.map(function (s) {
          var hit = rows.filter(function (r) {
            return (r.series_label || L.unknown) === s && (r.level_label || L.unknown) === l;
          })[0];
          return hit ? hit.people : 0;
        })});
      });
      return bars(names, series);
    },
    training: function (d) {
      var rows = d.training || [], keys = ["classes", "plans", "courses", "participants"].filter(function (k) {
        return rows.length && k in rows[0];
      });
      rows.forEach(function (r) {  // every figure the query gives (plans, courses, participants, classes…)
        Object.keys(r).forEach(function (k) { if (k !== "year" && keys.indexOf(k) < 0) { keys.push(k); } });
      });
      return bars(rows.map(function (r) { return String(r.year); }), keys.map(function (k) {
        return {name: L[k] || k, type: "bar", data: rows.map(function (r) { return r[k]; })};
      }));
    },
    reviews: function (d) {
      var rows = d.reviews || [];
      return bars(rows.map(function (r) { return r.organisation; }), [
        {name: L.median, type: "bar", data: rows.map(function (r) { return r.median_hours; })},
        {name: L.p90, type: "bar", data: rows.map(function (r) { return r.p90_hours; })},
        {name: L.open, type: "line", yAxisIndex: 1, data: rows.map(function (r) { return r.open; })}
      ], {yAxis: [{type: "value"}, {type: "value"}]});
    }
  };
  var charts = [];
  // category labels wrap within their share of the width (a phone's narrow chart: no labels run together)
  function fitLabels(option, el) {
    var axis = option.xAxis;
    if (!axis || axis.type !== "category" || !axis.data || !axis.data.length) { return option; }
    var share = Math.floor((el.clientWidth - 80) / axis.data.length) - 6;
    axis.axisLabel = Object.assign({}, axis.axisLabel, {width: Math.max(36, Math.min(90, share)), overflow: "break"});
    return option;
  }
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var kind = kinds[el.getAttribute("data-chart")];
    if (!kind) { return; }
    load(el.getAttribute("data-src")).then(function (d) {
      var chart = echarts.init(el, null, {renderer: "canvas"});
      chart.setOption(fitLabels(kind(d), el));
      charts.push(chart);
      el.setAttribute("data-drawn", "1");
    }).catch(function () { el.textContent = ""; });
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
