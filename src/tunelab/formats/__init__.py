"""Translators from the seed systems' formats into tunelab's spec.

Importing this package registers every format with :mod:`tunelab.loader`.
"""
