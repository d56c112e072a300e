"""Names of the places tunelab can run jobs, known without importing what runs them."""

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
