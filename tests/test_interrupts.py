"""Ctrl-C and SIGTERM held over a block of the engine's bookkeeping (real signals)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from tunelab import _interrupts as interrupts


def test_ctrl_c_inside_the_block_arrives_when_it_ends():
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts.held():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("the rest of the block ran")
    assert done == ["the rest of the block ran"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_goes_to_the_handler_in_place_before_the_block_once():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
    try:
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
            assert seen == []
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_nothing_is_held_outside_the_main_thread():
    handlers = []
    thread = threading.Thread(target=lambda: handlers.append(_handler_inside_block()))
    thread.start()
    thread.join()
    assert handlers == [signal.default_int_handler]


def _handler_inside_block():
    with interrupts.held():
        return signal.getsignal(signal.SIGINT)
