from ._sampler import AutoSampler


__all__ = ["AutoSampler"]
