"""The experiments/ folder holds NNI's own files and the stand-in trial scripts, run as
processes by the tests here; pytest must not import them."""

collect_ignore = ["experiments"]
