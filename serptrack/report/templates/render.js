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

  function draw(box) {
    if (box.getAttribute("data-state")) {
      return;
    }
    box.setAttribute("data-state", "drawing");
    try {
      var spec = JSON.parse(document.getElementById(box.getAttribute("data-figure")).textContent);
      var figure = unpack(spec);
      Plotly.newPlot(box, figure.data, figure.layout, config).then(
        function () { finished(box, "drawn"); },
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
