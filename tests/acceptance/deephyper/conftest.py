"""The experiments/ folder holds DeepHyper's own files, run as scripts by the tests here;
pytest must not import them (some start a search at import time)."""

collect_ignore = ["experiments"]
