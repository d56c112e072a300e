"""Ctrl-C and SIGTERM deferred while the engine runs (real signals to this process)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from tunelab import _interrupts as interrupts


@pytest.fixture(autouse=True)
def python_sigint():
    """Python's own Ctrl-C handler, whatever an earlier import or the parent left (a
    module of dask-jobqueue installs its own at import; a background shell ignores it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_the_first_ctrl_c_is_a_request_and_the_second_interrupts_at_once():
    steps = []
    with pytest.raises(KeyboardInterrupt), interrupts.deferred() as interrupted:
        assert not interrupted()
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("went on after the first")
        assert interrupted()
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("went on after the second")
    assert steps == ["went on after the first"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_is_a_request_too_and_the_handler_before_comes_back():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
    try:
        with interrupts.deferred() as interrupted:
            os.kill(os.getpid(), signal.SIGTERM)
            assert interrupted() and seen == []
        os.kill(os.getpid(), signal.SIGTERM)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_ignored_signal_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts.deferred() as interrupted:
            os.kill(os.getpid(), signal.SIGINT)
            assert not interrupted()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_nothing_changes():
    seen = []

    def look() -> None:
        with interrupts.deferred() as interrupted:
            seen.append((signal.getsignal(signal.SIGINT), interrupted()))

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert seen == [(signal.default_int_handler, False)]
