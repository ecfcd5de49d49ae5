/* serptrack report: draw every chart from its JSON block with the one copy of plotly.js. */
(function () {
  "use strict";
  var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-figure]"));
  var config = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };
  var drawn = 0;
  var shared = null;

  // a figure's JSON names the x values and base layout it shares with others (ChartPack)
  function unpack(spec) {
    shared = shared || JSON.parse(document.getElementById("chart-shared").textContent);
    var figure = spec.figure;
    var layout = figure.layout || {};
    if (spec.x) {
      figure.data.forEach(function (trace) {
        if (!("x" in trace)) {
          trace.x = shared.arrays[spec.x];
        }
      });
    }
    if (spec.base) {
      var base = JSON.parse(JSON.stringify(shared.bases[spec.base]));
      Object.keys(base).forEach(function (key) {
        if (key === "shapes" || key === "annotations") {
          layout[key] = base[key].concat(layout[key] || []);
        } else if (!(key in layout)) {
          layout[key] = base[key];
        }
      });
    }
    figure.layout = layout;
    return figure;
  }

  function finished(box, state) {
    box.setAttribute("data-state", state);
    drawn += 1;
    if (drawn === boxes.length) {
      document.documentElement.setAttribute("data-charts", "done");
    }
  }

  // Labels of annotated days (A1, A2 ...) sit at the foot of a chart; on nearby days they
  // would overlap, and how near is near depends on the width the chart is drawn at. Stack
  // them in lanes: each label takes the lowest lane where it clears its left neighbour.
  var LANE = 15;  // px: a label's height and a little air

  function declutter(box) {
    var notes = (box.layout && box.layout.annotations) || [];
    var groups = box.querySelectorAll("g.annotation");
    if (!notes.length || groups.length !== notes.length) {
      return Promise.resolve();
    }
    var items = [];
    Array.prototype.forEach.call(groups, function (group, index) {
      var rect = group.getBoundingClientRect();
      if (notes[index].y === 0 && rect.width > 0) {
        items.push({ index: index, left: rect.left, right: rect.right });
      }
    });
    items.sort(function (a, b) { return a.left - b.left || a.index - b.index; });
    var lanes = [];
    var update = {};
    items.forEach(function (item) {
      var lane = 0;
      while (lane < lanes.length && lanes[lane] + 3 > item.left) {
        lane += 1;
      }
      lanes[lane] = item.right;
      if ((notes[item.index].yshift || 0) !== lane * LANE) {
        update["annotations[" + item.index + "].yshift"] = lane * LANE;
      }
    });
    return Object.keys(update).length ? Plotly.relayout(box, update) : Promise.resolve();
  }

  function draw(box) {
    if (box.getAttribute("data-state")) {
      return;
    }
    box.setAttribute("data-state", "drawing");
    try {
      var spec = JSON.parse(document.getElementById(box.getAttribute("data-figure")).textContent);
      var figure = unpack(spec);
      Plotly.newPlot(box, figure.data, figure.layout, config)
        .then(function () { return declutter(box); })
        .then(
          function () {
            box.on("plotly_afterplot", function () { declutter(box); });  // resized
            finished(box, "drawn");
          },
          function (error) { fail(box, error); }
        );
    } catch (error) {
      fail(box, error);
    }
  }

  function fail(box, error) {
    box.textContent = "This chart could not be drawn (" + error + ").";
    box.className += " chart-missing";
    finished(box, "error");
    if (window.console) {
      window.console.error("serptrack report: chart " + box.id + " failed: " + error);
    }
  }

  if (typeof Plotly === "undefined") {
    boxes.forEach(function (box) {
      box.textContent = "Charts need plotly.js, which could not be loaded: this report was " +
        "written with --plotlyjs cdn and the network is unavailable.";
      box.className += " chart-missing";
    });
    return;
  }
  // charts on screen first, then the rest in the background so printing finds them all
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          draw(entry.target);
        }
      });
    }, { rootMargin: "300px" });
    boxes.forEach(function (box) { observer.observe(box); });
  }
  var queue = boxes.slice();
  function next() {
    var box = queue.shift();
    if (box) {
      draw(box);
      window.setTimeout(next, 20);
    }
  }
  window.setTimeout(next, 0);
  window.addEventListener("beforeprint", function () { boxes.forEach(draw); });
})();
