"""Drop-in modules for scripts written for the systems tunelab succeeds.

Change one import and the script runs under tunelab:

* ``from tunelab.compat.aup import BasicConfig, print_result, aup_args, aup_save_model``
  (Auptimizer)
* ``import tunelab.compat.nni as nni`` (NNI's trial API)

Like :mod:`tunelab.trial`, these modules use only the standard library.
"""
