"""A stop request: one signal (even delivered twice) saves and stops; a later second one stops
at once."""

import signal
import time

import pytest

from jaxgan.preemption import StopRequest


def test_a_signal_delivered_twice_counts_once_and_a_later_one_stops_at_once():
  stop = StopRequest(echo_s=0.2)
  stop(signal.SIGTERM, None)
  stop(signal.SIGTERM, None)  # The same signal forwarded by a parent (make): no exception.
  assert stop.signal_name == "SIGTERM"
  time.sleep(0.25)
  with pytest.raises(KeyboardInterrupt):
    stop(signal.SIGINT, None)
