"""A stop request: one signal saves and stops; SIGTERM repeated (forwarded by make) counts
once; a second SIGINT stops at once."""

import signal

import pytest

from jaxgan.preemption import StopRequest

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.


@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGINT])
def test_repeated_sigterm_counts_once_and_a_second_sigint_stops_at_once(first):
  stop = StopRequest()
  stop(first, None)
  stop(signal.SIGTERM, None)  # The same signal forwarded by a parent (make): no exception.
  assert stop.signal_name == first.name
  with pytest.raises(KeyboardInterrupt):
    stop(signal.SIGINT, None)
