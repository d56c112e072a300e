"""The experiments/ folder holds Studio.ml's own files and the stand-in training scripts,
run as processes by the tests here; pytest must not import them."""

collect_ignore = ["experiments"]
