"""Stopping cleanly on SIGTERM or SIGINT: a flag the training loop reads once per step."""

import contextlib
import logging
import signal
import threading
import time
from typing import Iterator

log = logging.getLogger(__name__)


class StopRequest:
  """Set by SIGTERM or SIGINT: the loop saves a checkpoint and stops after the current
  step. A second signal stops at once, unless it comes within `echo_s` seconds of the
  first: one signal often arrives twice (sent to a process group and forwarded by a
  parent such as make), and that must not lose the checkpoint."""

  def __init__(self, echo_s: float = 1.0):
    self.signal_name: str | None = None
    self._echo_s = echo_s
    self._first = 0.0

  def __call__(self, signum, frame):
    del frame
    if self.signal_name is not None:
      if time.monotonic() - self._first < self._echo_s:
        return
      raise KeyboardInterrupt
    self.signal_name = signal.Signals(signum).name
    self._first = time.monotonic()
    log.info("%s received: saving a checkpoint after this step.", self.signal_name)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
  """Routes SIGTERM and SIGINT to a `StopRequest` for the duration."""
  stop = StopRequest()
  if threading.current_thread() is not threading.main_thread():
    yield stop  # Signal handlers can only be set from the main thread.
    return
  previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
  try:
    yield stop
  finally:
    for signum, handler in previous.items():
      signal.signal(signum, handler)
