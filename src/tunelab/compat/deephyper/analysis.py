"""DeepHyper's result helpers (``deephyper.analysis.hpo``) on its ``results`` table.

Example:
    >>> import pandas as pd
    >>> results = pd.DataFrame({"p:x": [1.0, 2.0, 3.0], "objective": [0.5, "F", 0.9]})
    >>> parameters_at_max(results)
    ({'x': 3.0}, 0.9)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def _failed(column: pd.Series) -> np.ndarray:
    """True where the objective is one of DeepHyper's failure strings (``"F..."``)."""
    return column.astype(str).str.startswith("F").to_numpy()


def read_results_from_csv(file_path: str) -> pd.DataFrame:
    """A ``results.csv`` as a DataFrame."""
    import pandas as pd

    return pd.read_csv(file_path, index_col=None)


def filter_failed_objectives(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(rows without failures, rows with a failure)``; the objective columns of the first
    become floats. Multi-objective tables are filtered on every ``objective_<i>``."""
    columns = ["objective"] if "objective" in df.columns else list(df.filter(regex=r"^objective_\d+$").columns)
    mask = np.zeros(len(df), dtype=bool)
    for column in columns:
        mask |= _failed(df[column])
    return df[~mask].astype({c: float for c in columns}), df[mask]


def parameters_from_row(row: pd.Series, prefix: str = "p:") -> dict[str, Any]:
    """The parameters of one row, without their ``prefix``."""
    return {k[len(prefix):]: v for k, v in row.to_dict().items() if k.startswith(prefix)}


def parameters_at_max(df: pd.DataFrame, column: str = "objective", prefix: str = "p:",
                      n_last: int | float = 1.0) -> tuple[dict[str, Any], float]:
    """The parameters and value of the row with the largest ``column`` (the latest on a tie),
    among the ``n_last`` last rows (a float: that fraction of the rows)."""
    if n_last != 1.0:
        df = df.iloc[-(int(n_last * len(df)) if isinstance(n_last, float) else int(n_last)):]
    df, _ = filter_failed_objectives(df.iloc[::-1])
    best = df.iloc[int(np.argmax(df[column].to_numpy()))]
    return parameters_from_row(best, prefix), float(best[column])


def parameters_at_topk(df: pd.DataFrame, column: str = "objective", k: int = 1,
                       prefix: str = "p:") -> list[tuple[dict[str, Any], float]]:
    """The ``k`` best rows' parameters and values, best first."""
    df, _ = filter_failed_objectives(df)
    top = df.nlargest(k, column)
    return [(parameters_from_row(row, prefix), row[column]) for _, row in top.iterrows()]


def plot_search_trajectory_single_objective_hpo(results: pd.DataFrame, show_failures: bool = True,
                                                column: str = "objective", mode: str = "max",
                                                x_units: str = "evaluations", label: str | None = None,
                                                ax: Any = None, **_styles: Any) -> tuple[Any, Any]:
    """Each evaluation's objective and the best so far, against evaluations or seconds
    (``m:timestamp_gather``); ``mode="min"`` plots ``-objective`` and the running minimum.

    Returns:
        the matplotlib figure and axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.get_figure()
    failed = _failed(results[column])
    x = (results["m:timestamp_gather"].to_numpy(dtype=float) if x_units == "seconds"
         else np.arange(1, len(results) + 1))
    sign = 1.0 if mode == "max" else -1.0
    y = sign * np.where(failed, np.nan, results[column].where(~failed, np.nan).astype(float).to_numpy())
    best = np.fmax.accumulate(y) if mode == "max" else np.fmin.accumulate(y)
    ax.plot(x, best, label="Trajectory" if label is None else label)
    ax.scatter(x[~failed], y[~failed], s=10, alpha=0.5, label="Evaluations")
    if show_failures and failed.any():
        ax.scatter(x[failed], np.full(failed.sum(), np.nanmin(y) if np.isfinite(y).any() else 0.0),
                   marker="v", color="red", label="Failures")
    ax.set_xlabel("Evaluations" if x_units == "evaluations" else "Time (sec.)")
    ax.set_ylabel("Objective")
    ax.legend()
    ax.grid(True)
    return fig, ax


def figure_size(width: float, fraction: float = 1.0) -> tuple[float, float]:
    """Figure size in inches for a LaTeX ``width`` in points (times ``fraction``), golden-ratio high.

    Example:
        >>> figure_size(72.27)
        (1.0, 0.6180339887498949)
    """
    width_in = width * fraction / 72.27
    return width_in, width_in * (5**0.5 - 1) / 2


def plot_worker_utilization(results: pd.DataFrame, num_workers: int | None = None,
                            profile_type: str = "submit/gather", ax: Any = None) -> tuple[Any, Any]:
    """The share of ``num_workers`` busy over time, from the ``m:timestamp_submit`` /
    ``m:timestamp_gather`` columns, or ``m:timestamp_start`` / ``m:timestamp_end`` of
    ``@profile`` with ``profile_type="start/end"``.

    Returns:
        the matplotlib figure and axes.
    """
    import matplotlib.pyplot as plt

    first, last = profile_type.split("/")
    starts = results[f"m:timestamp_{first}"].to_numpy(dtype=float)
    ends = results[f"m:timestamp_{last}"].to_numpy(dtype=float)
    keep = np.isfinite(starts) & np.isfinite(ends)
    times = np.concatenate([starts[keep], ends[keep]])
    steps = np.concatenate([np.ones(keep.sum()), -np.ones(keep.sum())])
    order = np.lexsort((steps, times))  # at equal times, ends before starts
    running = np.cumsum(steps[order])
    workers = num_workers or max(int(running.max(initial=1)), 1)
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.get_figure()
    ax.step(times[order], running / workers, where="post")
    ax.set_xlabel("Time (sec.)")
    ax.set_ylabel("Worker Utilization")
    ax.grid(True)
    return fig, ax


__all__ = ["figure_size", "filter_failed_objectives", "parameters_at_max", "parameters_at_topk", "parameters_from_row",
           "plot_search_trajectory_single_objective_hpo", "plot_worker_utilization", "read_results_from_csv"]
