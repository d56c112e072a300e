#!/usr/bin/env python
"""Auptimizer's quad_equation_min example, written for Auptimizer; only the import changed."""
import sys

from tunelab.compat.aup import BasicConfig, print_result


def quad(x: float) -> float:
    """The function minimized: (x - 2)^2 + 1, best at x = 2."""
    return (x - 2.0) ** 2 + 1.0


if __name__ == "__main__":
    config = BasicConfig().load(sys.argv[1])
    print_result(quad(config.x))
