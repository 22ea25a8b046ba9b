"""Two processes on localhost (jax.distributed, CPU, 2 fake devices each) train as one run on
four devices: the same parameters in both, equal to one process on four devices; SIGTERM
to one stops both at one step with a checkpoint; a dead peer stops the other within a
bounded time, and a restart resumes bit-exact."""

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Callable

import jax
import numpy as np
import pytest

from jaxgan import trainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multihost_worker  # noqa: E402

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

WORKER = multihost_worker.__file__
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 100
CHECKPOINT_EVERY = multihost_worker.CHECKPOINT_EVERY
KILLED_AFTER = 20  # The checkpoint to appear before a process is killed.
DEAD_PEER_LIMIT_S = 60  # The survivor must stop within this long (heartbeat timeout: 10 s).


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _worker(workdir: str, out_dir: str) -> Callable[[int, int], list[str]]:
  """The command of process `i` (coordinator on `port`) of multihost_worker.py's run."""
  return lambda port, i: [sys.executable, WORKER, str(port), str(i), "2", workdir,
                          os.path.join(out_dir, f"params_{i}.npz"), str(STEPS)]


def _train_py(workdir: str) -> Callable[[int, int], list[str]]:
  """The same with train.py itself and its flags: the ring config, made small."""
  return lambda port, i: [
      sys.executable, os.path.join(ROOT, "train.py"), f"--coordinator_address=localhost:{port}",
      "--num_processes=2", f"--process_id={i}", "--heartbeat_timeout_s=10",
      f"--config={os.path.join(ROOT, 'configs', 'gaussians.py')}", f"--workdir={workdir}",
      "--config.generator.hidden_dims=(16,)", "--config.discriminator.hidden_dims=(16,)",
      "--config.batch_size=16", f"--config.num_train_steps={STEPS}",
      f"--config.checkpoint_every_steps={CHECKPOINT_EVERY}", "--config.log_every_steps=50"]


def _start(command: Callable[[int, int], list[str]]) -> list[subprocess.Popen]:
  port = _free_port()
  flags = os.environ["XLA_FLAGS"] + " --xla_force_host_platform_device_count=2"
  env = os.environ | {"XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
  return [subprocess.Popen(command(port, i), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True) for i in range(2)]


def _finish(processes: list[subprocess.Popen], timeout_s: float = 150) -> list[str]:
  """The processes' outputs once all have exited (each killed if it outlives the timeout)."""
  deadline = time.monotonic() + timeout_s
  outputs = []
  for process in processes:
    try:
      outputs.append(process.communicate(timeout=max(deadline - time.monotonic(), 1))[0])
    except subprocess.TimeoutExpired:
      process.kill()
      outputs.append(process.communicate()[0] + "\n[killed: timed out]")
  return outputs


def _run(workdir: str, out_dir: str) -> list[dict[str, np.ndarray]]:
  processes = _start(_worker(workdir, out_dir))
  try:
    outputs = _finish(processes)
  finally:
    for process in processes:
      process.kill()
  for process, output in zip(processes, outputs):
    assert process.returncode == 0, output[-3000:]
  return [dict(np.load(os.path.join(out_dir, f"params_{i}.npz"))) for i in range(2)]


def _assert_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray], **tolerances) -> None:
  assert a.keys() == b.keys()
  for key in a:
    np.testing.assert_allclose(a[key], b[key], **tolerances or {"rtol": 0, "atol": 0})


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory) -> list[dict[str, np.ndarray]]:
  """Each process's final parameters after an uninterrupted run."""
  tmp = tmp_path_factory.mktemp("multihost")
  return _run(str(tmp / "workdir"), str(tmp))


def test_multihost_processes_agree_and_equal_one_process_on_four_devices(two_process_run,
                                                                          tmp_path):
  assert jax.local_device_count() == 4
  _assert_equal(*two_process_run)
  state = trainer.train_and_evaluate(multihost_worker.tiny_ring_config(STEPS), str(tmp_path))
  single = jax.tree.leaves(jax.device_get((state.g.params, state.d.params)))
  # Gloo's all-reduce sums in another order than the in-process one.
  _assert_equal(two_process_run[0], {f"arr_{i}": x for i, x in enumerate(single)}, rtol=1e-5,
                atol=1e-7)


def _wait_for_checkpoint(processes: list[subprocess.Popen], workdir: str, step: int) -> None:
  checkpoint = os.path.join(workdir, "checkpoints", str(step))
  deadline = time.monotonic() + 180
  while not os.path.isdir(checkpoint) and time.monotonic() < deadline:
    assert processes[0].poll() is None, processes[0].communicate()[0][-3000:]
    time.sleep(0.05)
  assert os.path.isdir(checkpoint), f"no checkpoint at step {step} within 180 s"


def _saved_steps(workdir: str) -> list[int]:
  return sorted(int(name) for name in os.listdir(os.path.join(workdir, "checkpoints"))
                if name.isdigit())


def test_multihost_sigterm_to_one_process_of_train_py_stops_both_at_one_step(tmp_path):
  workdir = str(tmp_path / "workdir")
  processes = _start(_train_py(workdir))
  try:
    _wait_for_checkpoint(processes, workdir, KILLED_AFTER)
    processes[1].send_signal(signal.SIGTERM)
    outputs = _finish(processes, timeout_s=120)
  finally:
    for process in processes:
      process.kill()
  assert [p.returncode for p in processes] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
  stopped_at = _saved_steps(workdir)[-1]
  assert KILLED_AFTER < stopped_at < STEPS
  assert (f"Stopped by a signal to another process at step {stopped_at}" in outputs[0]
          ), outputs[0][-2000:]
  assert f"Training steps 1 to {STEPS} on 4 cpu devices of 2 processes (sharded)." in outputs[0]
  assert "Stopped by" not in outputs[1]  # Only process 0 logs.


def test_multihost_dead_peer_stops_the_other_and_both_resume_bit_exact(two_process_run,
                                                                      tmp_path):
  workdir = str(tmp_path / "workdir")
  processes = _start(_worker(workdir, str(tmp_path)))
  try:
    _wait_for_checkpoint(processes, workdir, KILLED_AFTER)
    processes[1].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    survivor_output = _finish(processes[:1], timeout_s=DEAD_PEER_LIMIT_S)[0]
  finally:
    for process in processes:
      process.kill()
      process.wait()
  assert time.monotonic() - killed_at < DEAD_PEER_LIMIT_S + 5
  assert processes[0].returncode != 0, "the survivor finished without its peer"
  # The coordination service stops the survivor once the peer's heartbeats are gone, or a
  # collective in flight fails first on the lost connection: one of the survivor's devices
  # may then start the next collective while the other still sends for the last, and gloo
  # aborts on the mismatch (seen once, under load).
  assert any(reason in survivor_output for reason in ("another task died", "gloo::")
             ), survivor_output[-3000:]
  assert KILLED_AFTER <= _saved_steps(workdir)[-1] < STEPS

  resumed = _run(workdir, str(tmp_path))
  _assert_equal(*resumed)
  _assert_equal(resumed[0], two_process_run[0])
