"""Names of the places tunelab can run jobs, known without importing what runs them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

JOBQUEUE_KINDS = ("slurm", "pbs", "sge", "lsf")
"""Cluster kinds started through dask-jobqueue, its keyword arguments passed through."""

CLUSTER_KINDS = ("local", "ssh", *JOBQUEUE_KINDS)
"""The ``kind`` values of ``resource_args.cluster``: Dask's LocalCluster and SSHCluster,
and the batch systems of dask-jobqueue."""


def remote_route(resource: str) -> str:
    """Where jobs meant for Auptimizer's ``node``/``ssh``/``aws`` (NNI's ``remote``, Studio's
    ``--cloud``) run in tunelab: a Dask cluster, named in one line with the docs page."""
    if resource == "aws":
        return ("start a cloud cluster with dask-cloudprovider and set \"resource\": \"dask\", "
                "\"resource_args\": {\"scheduler\": \"tcp://HOST:8786\"} (see docs/cluster.md)")
    return ("run on your SSH hosts through Dask: \"resource\": \"dask\", \"resource_args\": {\"cluster\": "
            "{\"kind\": \"ssh\", \"hosts\": [\"scheduler-host\", \"worker-host\", ...]}} (see docs/cluster.md)")


@dataclass
class Machine:
    """One SSH host of another tool's machine list (NNI's ``remote`` platform)."""

    host: str
    port: int = 22
    user: str | None = None
    key: str | None = None
    python: str | None = None


def ssh_cluster(machines: list[Machine]) -> dict[str, Any]:
    """``resource_args.cluster`` for Dask's SSHCluster over ``machines``: the scheduler on
    the first, one single-slot worker on each (one job at a time per machine)."""
    hosts = [machines[0], *machines]
    options = [{"port": m.port, "known_hosts": None,
                **({"username": m.user} if m.user else {}),
                **({"client_keys": [os.path.expanduser(m.key)]} if m.key else {})} for m in hosts]
    cluster: dict[str, Any] = {"kind": "ssh", "hosts": [m.host for m in hosts], "connect_options": options,
                               "worker_options": {"nthreads": 1}}
    if any(m.python for m in hosts):
        cluster["remote_python"] = [m.python or "python3" for m in hosts]
    return cluster
