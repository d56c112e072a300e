"""The smallest tunelab example: minimise the 2-D Rosenbrock function.

tunelab runs this script as ``python rosenbrock.py <job config path>``; run by hand
(``python rosenbrock.py``) it uses the defaults below. The result is printed as
Auptimizer's ``#Auptimizer:<value>`` line, so an Auptimizer script works unchanged.
"""

from __future__ import annotations

from tunelab import trial


def rosenbrock(x: float, y: float, a: float = 1.0, b: float = 100.0) -> float:
    """Rosenbrock's banana function; its minimum is 0 at ``(a, a**2)``."""
    return (a - x) ** 2 + b * (y - x * x) ** 2


def main() -> None:
    """Read the job's config (argv[1]) and print its value."""
    config = trial.load_config(defaults={"x": 0.0, "y": 0.0})
    value = rosenbrock(float(config["x"]), float(config["y"]))
    print(f"#Auptimizer:{value}")
    # Equivalent, with extra named results: trial.report(value, x_error=abs(config["x"] - 1))


if __name__ == "__main__":
    main()
