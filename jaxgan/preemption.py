"""Stopping cleanly on SIGTERM or SIGINT: a flag the training loop reads once per step."""

import contextlib
import logging
import signal
import threading
from typing import Iterator

log = logging.getLogger(__name__)


class StopRequest:
  """Set by SIGTERM or SIGINT: the loop saves a checkpoint and stops after the current
  step. A second SIGINT (Ctrl-C twice) stops at once. A repeated SIGTERM is ignored: one
  SIGTERM often arrives twice, sent to a process group and forwarded by a parent such as
  make, however late a loaded machine delivers the copy, and that must not lose the
  checkpoint; schedulers that lose patience send SIGKILL."""

  def __init__(self):
    self.signal_name: str | None = None

  def __call__(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    if self.signal_name is None:
      self.signal_name = name
      log.info("%s received: saving a checkpoint after this step.", name)
    elif signum == signal.SIGINT:
      raise KeyboardInterrupt


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
