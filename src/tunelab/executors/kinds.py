"""Names of the places tunelab can run jobs, known without importing what runs them."""

JOBQUEUE_KINDS = ("slurm", "pbs", "sge", "lsf")
"""Cluster kinds started through dask-jobqueue, its keyword arguments passed through."""

CLUSTER_KINDS = ("local", "ssh", *JOBQUEUE_KINDS)
"""The ``kind`` values of ``resource_args.cluster``: Dask's LocalCluster and SSHCluster,
and the batch systems of dask-jobqueue."""
