"""The same objective as a script, written with the ``@trial.objective`` decorator.

The decorator loads the job's config (argv[1]), passes the parameters the function names
as keyword arguments, and reports what it returns. Run by hand (``python decorated.py``)
the function's own defaults are used. Tune it with
``tunelab run experiment.json`` after setting ``"script": "decorated.py"``, or::

    tunelab run experiment.json --name rosenbrock-decorated   # with script: decorated.py
"""

from __future__ import annotations

from tunelab import trial


@trial.objective
def main(x: float = 0.0, y: float = 0.0) -> float:
    """Rosenbrock's function at ``(x, y)``; tunelab minimises it."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


if __name__ == "__main__":
    print(main())
