#!/usr/bin/env python
"""The same objective with Auptimizer's decorator: ``*init*`` functions run first."""
import sys

from tunelab.compat.aup import aup_args, aup_save_model

STATE = {}


def init_offset(**config):
    """Called by aup_args with every config value before main()."""
    STATE["offset"] = 1.0


def save(path="model.txt"):
    """Writes the 'model' when this job is the save_model run."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(repr(STATE))


@aup_args
def main(x, y=0.0):
    STATE["x"] = x
    aup_save_model(save)
    return (x - 2.0) ** 2 + y ** 2 + STATE["offset"]


if __name__ == "__main__":
    main(sys.argv[1])
