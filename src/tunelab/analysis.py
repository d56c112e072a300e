"""Plots of stored experiments: one computation, shown by the dashboard, written by
``tunelab plot`` and returned to notebooks.

Each plot is computed here from an :class:`~tunelab.results.ExperimentResult` into a
:class:`Figure`: an Apache ECharts option (plain JSON data, no code) that the dashboard
draws in the page, that :meth:`Figure.write_html` saves as one self-contained offline file
(the charting library inlined), and that a notebook shows through ``_repr_html_``.

Example:
    >>> from tunelab.results import ExperimentResult
    >>> from tunelab.storage import Experiment, Job
    >>> spec = {"target": "min", "parameter_config": [{"name": "x", "type": "float", "range": [0, 1]}]}
    >>> exp = Experiment(1, "demo", "finished", spec, 0, 0.0, 0.0, None)
    >>> jobs = [Job(i, 1, i, {"x": i / 10}, None, "finished", 5.0 - i, {}, {}, None, 0.0, 1.0)
    ...         for i in range(1, 4)]
    >>> figure = plot(ExperimentResult(exp, jobs), "history")
    >>> figure.option["series"][1]["data"]
    [[1, 4.0], [2, 3.0], [3, 2.0]]
"""

from __future__ import annotations

import html
import json
import math
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tunelab import storage as st
from tunelab.results import ExperimentResult

KINDS = ("history", "parallel", "importance", "curves", "slice", "timeline", "rungs")
"""The plots of one experiment (``tunelab plot --kind``)."""

ECHARTS_VERSION = "5.6.0"
"""Version of the vendored ``dashboard/static/vendor/echarts.min.js``."""

STATUS_COLORS = {st.FINISHED: "#2563eb", st.RUNNING: "#16a34a", st.FAILED: "#dc2626", st.STOPPED: "#d97706",
                 st.PENDING: "#94a3b8", st.CANCELLED: "#64748b"}
"""One colour per job status, the same in the page's job table."""

MAX_CURVES = 300
"""Intermediate-value curves drawn at most (the latest jobs): more is a smear, not a plot."""

MAX_FIT = 2000
"""Finished jobs at most (the latest) that parameter importance is fitted on."""


@dataclass
class Figure:
    """A plot: its title and the ECharts option that draws it."""

    title: str
    option: dict[str, Any]

    def to_html(self) -> str:
        """One self-contained HTML page drawing the figure offline (the library inlined)."""
        library = resources.files("tunelab.dashboard").joinpath("static/vendor/echarts.min.js").read_text("utf-8")
        data = json.dumps(self.option).replace("<", "\\u003c")
        return _PAGE.format(title=html.escape(self.title), library=library.replace("</script", "<\\/script"),
                            option=data)

    def write_html(self, path: str | Path) -> Path:
        """Write :meth:`to_html` to ``path`` and return it."""
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        """The figure in a notebook: the page in a sandboxed frame, so it needs nothing loaded."""
        return (f'<iframe sandbox="allow-scripts" style="width:100%;height:520px;border:0" '
                f'srcdoc="{html.escape(self.to_html(), quote=True)}"></iframe>')


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>html,body{{margin:0;height:100%;font-family:system-ui,sans-serif}}#chart{{width:100%;height:100%}}</style>
<script>{library}</script></head>
<body><div id="chart"></div>
<script type="application/json" id="option">{option}</script>
<script>
var chart = echarts.init(document.getElementById("chart"));
chart.setOption(JSON.parse(document.getElementById("option").textContent));
window.addEventListener("resize", function () {{ chart.resize(); }});
</script></body></html>
"""


def plot(result: ExperimentResult, kind: str) -> Figure:
    """The ``kind`` plot (one of :data:`KINDS`) of an experiment.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    figure = _BUILDERS[kind](result)
    figure.option = {**_base(figure.title, result.experiment.name), **figure.option}
    return figure


def compare(results: list[ExperimentResult]) -> Figure:
    """Best-so-far curves of several experiments overlaid, by job number."""
    series = []
    for result in results:
        points = best_so_far(result)
        series.append({"type": "line", "step": "end", "name": result.experiment.name, "showSymbol": False,
                       "data": [[n, b] for n, _, b in points]})
    option = {**_base("Best so far", ", ".join(r.experiment.name for r in results)),
              "legend": {"top": 30, "type": "scroll"}, "grid": {**_GRID, "top": 70},
              "xAxis": {"type": "value", "name": "job", "minInterval": 1}, "yAxis": _value_axis("best value"),
              "series": series}
    return Figure("Best so far", option)


# Computations ------------------------------------------------------------------------
def finished(result: ExperimentResult) -> list[st.Job]:
    """The search's finished jobs that have a value, in proposal order."""
    return [j for j in result.search_jobs if j.status == st.FINISHED and j.value is not None]


def best_so_far(result: ExperimentResult) -> list[tuple[int, float, float]]:
    """``(job number, value, best value so far)`` for each finished job, in proposal order."""
    better = max if result.experiment.spec.get("target") == "max" else min
    out, best = [], None
    for job in finished(result):
        best = job.value if best is None else better(best, job.value)
        out.append((job.number, job.value, best))
    return out


def parameters(result: ExperimentResult) -> list[dict[str, Any]]:
    """The searched parameters: ``{"name", "categorical", "log", "choices"}`` each, from the
    experiment file's ``parameter_config`` (else from the configs themselves)."""
    declared = result.experiment.spec.get("parameter_config") or []
    names = [p["name"] for p in declared if "name" in p]
    names += sorted({k for j in result.search_jobs for k in j.config} - set(names))
    by_name = {p.get("name"): p for p in declared}
    out = []
    for name in names:
        values = [j.config[name] for j in result.search_jobs if name in j.config]
        entry = by_name.get(name, {})
        numeric = bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        categorical = not numeric or str(entry.get("type", "")).lower() in ("choice", "ordinal", "bool")
        choices = sorted({_label(v) for v in values}) if categorical else []
        positive = numeric and all(v > 0 for v in values)
        out.append({"name": name, "categorical": categorical, "log": bool(entry.get("log")) and positive,
                    "choices": choices})
    return out


def importance(result: ExperimentResult) -> list[tuple[str, float]]:
    """How much each parameter explains the value, most important first: the impurity
    importance of a random forest (scikit-learn) fitted on the latest :data:`MAX_FIT`
    finished jobs, parameters encoded as numbers (log-scaled where searched so,
    categories as codes). Empty with fewer than 4 finished jobs."""
    jobs = finished(result)[-MAX_FIT:]
    params = parameters(result)
    if len(jobs) < 4 or not params:
        return []
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    features = np.array([[_encode(p, j.config.get(p["name"])) for p in params] for j in jobs])
    values = np.array([j.value for j in jobs])
    if np.ptp(values) == 0:
        return [(p["name"], 0.0) for p in params]
    forest = RandomForestRegressor(n_estimators=32, min_samples_leaf=3, max_samples=0.5 if len(jobs) > 200 else None,
                                   random_state=0, n_jobs=1)
    forest.fit(features, values)
    ranked = sorted(zip((p["name"] for p in params), forest.feature_importances_), key=lambda t: -t[1])
    return [(name, float(score)) for name, score in ranked]


def lanes(result: ExperimentResult) -> list[dict[str, Any]]:
    """Every attempt as ``{"lane", "job", "number", "status", "start", "end"}``: the lane
    is the host and slot it ran on; a running attempt ends now."""
    now = time.time()
    out = []
    for job in result.jobs:
        for attempt in job.attempts:
            slot = attempt.resource.get("slot")
            lane = " · ".join(str(x) for x in (attempt.host, None if slot is None else f"slot {slot}") if x)
            out.append({"lane": lane or "local", "job": job.id, "number": job.number, "status": attempt.status,
                        "start": attempt.started, "end": attempt.ended or now})
    return out


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _encode(param: dict[str, Any], value: Any) -> float:
    if value is None:
        return -1.0
    if param["categorical"]:
        return float(param["choices"].index(_label(value))) if _label(value) in param["choices"] else -1.0
    return math.log10(value) if param["log"] else float(value)


# Figures -----------------------------------------------------------------------------
_GRID = {"left": 70, "right": 70, "top": 60, "bottom": 50, "containLabel": True}


def _base(title: str, subtitle: str) -> dict[str, Any]:
    return {"title": {"text": title, "subtext": subtitle, "left": 10, "textStyle": {"fontSize": 15}},
            "tooltip": {"renderMode": "richText", "confine": True}, "animation": False,
            "toolbox": {"right": 16, "feature": {"saveAsImage": {"title": "PNG"}, "dataZoom": {}, "restore": {}}},
            "color": ["#2563eb", "#f97316", "#10b981", "#a855f7", "#ef4444", "#0ea5e9", "#eab308", "#64748b"]}


def _value_axis(name: str, log: bool = False) -> dict[str, Any]:
    return {"type": "log" if log else "value", "name": name, "scale": True, "nameGap": 12}


def _empty(title: str, why: str) -> Figure:
    return Figure(title, {"graphic": {"type": "text", "left": "center", "top": "middle",
                                      "style": {"text": why, "fontSize": 14, "fill": "#64748b"}}})


def _history(result: ExperimentResult) -> Figure:
    points = best_so_far(result)
    if not points:
        return _empty("History", "no finished job yet")
    return Figure("History", {
        "legend": {"top": 30}, "grid": {**_GRID, "top": 70},
        "xAxis": {"type": "value", "name": "job", "minInterval": 1}, "yAxis": _value_axis("value"),
        "series": [
            {"type": "scatter", "name": "value", "symbolSize": 6, "large": True,
             "data": [[n, v] for n, v, _ in points]},
            {"type": "line", "name": "best so far", "step": "end", "showSymbol": False, "color": "#f97316",
             "lineStyle": {"width": 2}, "data": [[n, b] for n, _, b in points]},
        ]})


def _parallel(result: ExperimentResult) -> Figure:
    jobs, params = finished(result), parameters(result)
    if not jobs:
        return _empty("Parallel coordinates", "no finished job yet")
    axes = [{"dim": i, "name": p["name"], **({"type": "category", "data": p["choices"]} if p["categorical"]
                                              else {"type": "log" if p["log"] else "value", "scale": True})}
            for i, p in enumerate(params)]
    axes.append({"dim": len(params), "name": "value", "type": "value", "scale": True})
    rows = [[_label(j.config.get(p["name"])) if p["categorical"] else j.config.get(p["name"]) for p in params]
            + [j.value] for j in jobs]
    values = [j.value for j in jobs]
    return Figure("Parallel coordinates", {
        "parallel": {"left": 60, "right": 90, "top": 80, "bottom": 40}, "parallelAxis": axes,
        "visualMap": {"type": "continuous", "dimension": len(params), "min": min(values), "max": max(values),
                      "right": 0, "top": "middle", "calculable": True, "precision": 4,
                      "inRange": {"color": ["#1d4ed8", "#38bdf8", "#fde047", "#f97316"]}},
        "series": [{"type": "parallel", "lineStyle": {"width": 1, "opacity": 0.45}, "progressive": 500,
                    "data": rows}]})


def _importance(result: ExperimentResult) -> Figure:
    ranked = importance(result)
    if not ranked:
        return _empty("Parameter importance", "needs at least 4 finished jobs")
    ranked = ranked[::-1]
    return Figure("Parameter importance", {
        "grid": {**_GRID, "left": 120},
        "xAxis": {"type": "value", "name": "importance", "max": 1, "nameLocation": "middle", "nameGap": 28},
        "yAxis": {"type": "category", "data": [name for name, _ in ranked]},
        "series": [{"type": "bar", "name": "importance", "data": [round(v, 4) for _, v in ranked], "barMaxWidth": 34,
                    "itemStyle": {"color": "#2563eb", "borderRadius": [0, 4, 4, 0]},
                    "label": {"show": True, "position": "right", "formatter": "{c}"}}]})


def _curves(result: ExperimentResult) -> Figure:
    jobs = [j for j in result.search_jobs if j.intermediate][-MAX_CURVES:]
    if not jobs:
        return _empty("Intermediate values", "no job reported intermediate values")
    series = []
    for job in jobs:
        stopped = job.status == st.STOPPED
        data: list[Any] = [[s, v] for s, v in job.intermediate]
        if stopped:
            data[-1] = {"value": data[-1], "symbol": "diamond", "symbolSize": 9}
        colour = {} if job.status in (st.FINISHED, st.RUNNING) else {"color": STATUS_COLORS.get(job.status)}
        series.append({"type": "line", "name": f"job {job.number} ({job.status})", "showSymbol": stopped,
                       "symbol": "none", "data": data, **colour,
                       "lineStyle": {"width": 1.2, "type": "dashed" if stopped else "solid", "opacity": 0.8}})
    shown = f"latest {len(jobs)} jobs; stopped jobs dashed, ending in a diamond"
    return Figure("Intermediate values", {
        "title": {"text": "Intermediate values", "subtext": f"{result.experiment.name}: {shown}", "left": 10},
        "grid": _GRID, "xAxis": {"type": "value", "name": "step", "minInterval": 1},
        "yAxis": _value_axis("value"), "series": series})


def _slice(result: ExperimentResult) -> Figure:
    jobs, params = finished(result), parameters(result)
    if not jobs or not params:
        return _empty("Slice", "no finished job yet")
    cols = min(3, len(params))
    rows = math.ceil(len(params) / cols)
    option: dict[str, Any] = {"grid": [], "xAxis": [], "yAxis": [], "series": [], "title": [
        {"text": "Slice", "subtext": result.experiment.name, "left": 10, "textStyle": {"fontSize": 15}}]}
    height = 80 / rows
    for i, p in enumerate(params):
        left, top = 100 * (i % cols) / cols, 14 + height * (i // cols)
        option["grid"].append({"left": f"{left + 5}%", "width": f"{100 / cols - 9}%", "top": f"{top + 3}%",
                               "height": f"{height - 9}%", "containLabel": True})
        option["title"].append({"text": p["name"], "left": f"{left + 5}%", "top": f"{top}%",
                                "textStyle": {"fontSize": 12, "fontWeight": "normal"}})
        option["xAxis"].append({"gridIndex": i, **({"type": "category", "data": p["choices"]} if p["categorical"]
                                                   else {"type": "log" if p["log"] else "value", "scale": True})})
        option["yAxis"].append({"gridIndex": i, "type": "value", "scale": True})
        x = [_label(j.config.get(p["name"])) if p["categorical"] else j.config.get(p["name"]) for j in jobs]
        option["series"].append({"type": "scatter", "xAxisIndex": i, "yAxisIndex": i, "symbolSize": 5,
                                 "large": True, "name": p["name"],
                                 "data": [[a, j.value] for a, j in zip(x, jobs) if a is not None]})
    return Figure("Slice", option)


def _timeline(result: ExperimentResult) -> Figure:
    bars = lanes(result)
    if not bars:
        return _empty("Timeline", "no job started yet")
    names = sorted({b["lane"] for b in bars})
    data = [{"name": f"job {b['number']} ({b['status']})",
             "coords": [[b["start"] * 1000, names.index(b["lane"])], [b["end"] * 1000, names.index(b["lane"])]],
             "lineStyle": {"color": STATUS_COLORS.get(b["status"], "#2563eb")}} for b in bars]
    return Figure("Timeline", {
        "grid": {**_GRID, "left": 110},
        "xAxis": {"type": "time", "min": min(b["start"] for b in bars) * 1000, "max": max(b["end"] for b in bars) * 1000},
        "yAxis": {"type": "category", "data": names, "inverse": True},
        "series": [{"type": "lines", "coordinateSystem": "cartesian2d", "polyline": False, "data": data,
                    "lineStyle": {"width": 14, "opacity": 0.85, "cap": "butt"}}]})


def _rungs(result: ExperimentResult) -> Figure:
    jobs = [j for j in finished(result) if "rung" in j.info and j.budget is not None]
    if not jobs:
        return _empty("Rungs", "no multi-fidelity rungs (hyperband, bohb, asha) in this experiment")
    brackets = sorted({int(j.info.get("bracket", 0)) for j in jobs})
    log = min(j.budget for j in jobs) > 0 and max(j.budget for j in jobs) / min(j.budget for j in jobs) >= 8
    series = [{"type": "scatter", "name": f"bracket {b}", "symbolSize": 7,
               "data": [[j.budget, j.value] for j in jobs if int(j.info.get("bracket", 0)) == b]}
              for b in brackets]
    return Figure("Rungs", {
        "legend": {"top": 30, "type": "scroll"}, "grid": {**_GRID, "top": 70},
        "xAxis": _value_axis("budget", log), "yAxis": _value_axis("value"), "series": series})


_BUILDERS = {"history": _history, "parallel": _parallel, "importance": _importance, "curves": _curves,
             "slice": _slice, "timeline": _timeline, "rungs": _rungs}
