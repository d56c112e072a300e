"""Translators from the seed systems' formats into tunelab's spec.

Importing this package registers every format with :mod:`tunelab.loader`. Order
matters: the first format whose ``detect`` accepts a document translates it. NNI goes
before Auptimizer; Auptimizer's translator is the identity on native files.
"""

from tunelab.formats import auptimizer, nni
from tunelab.loader import register_format

register_format("nni", nni.detect, nni.translate)
register_format("auptimizer", auptimizer.detect, auptimizer.translate)
