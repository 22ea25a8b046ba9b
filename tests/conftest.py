"""Four fake CPU devices for the multi-device tests (set before JAX is imported; another
number from JAXGAN_TEST_DEVICES), quick compiles and one compilation cache for the session,
and tiny configs."""

import atexit
import os
import shutil
import tempfile
import time

# Tests compile far more than they run: without LLVM's optimisations (XLA's own graph
# optimisations stay) most compile in about half the time (tests/test_layers.py and
# test_growth.py: 158 s -> 91 s). The processes tests start inherit the flags; those that
# want another device count append theirs (the last one counts). tests/test_readme.py runs
# the README's commands on one device, as a user does.
os.environ["XLA_FLAGS"] = " ".join([
    os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0",
    "--xla_force_host_platform_device_count=" + os.environ.get("JAXGAN_TEST_DEVICES", "4")])
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Many tests, and the training processes they start, compile the same steps: JAX's
# persistent cache, shared through the environment, compiles each once per session (a
# 2-step training process took 20 s without it, 11 s with it). pytest-xdist's workers
# inherit the one pytest made.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxgan-tests-xla-")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")

import pytest

from configs import default, gaussians  # noqa: E402
from jaxgan import tasks  # noqa: E402


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> str:
  """A tfds data dir for the session: the bundled digits get prepared in it on first use."""
  return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> str:
  """Where the session's feature classifiers are trained once and kept."""
  return str(tmp_path_factory.mktemp("classifiers"))


def _tiny_run(config, *, num_samples: int):
  """Four steps at batch 8, logging, drawing and saving every 2, on one device."""
  config.batch_size = 8
  config.num_train_steps = 4
  config.log_every_steps = config.sample_every_steps = config.checkpoint_every_steps = 2
  config.num_samples = num_samples
  config.num_devices = 1
  config.eval_every_steps = 0
  return config


@pytest.fixture
def digits_config(data_dir):
  """The default DCGAN on digits, made tiny: 16x16, few features, batch 8, a few steps."""
  config = default.base_config()
  config.data_dir = data_dir
  config.latent_dim = 8
  config.generator.features = (16, 8)
  config.discriminator.features = (8, 16)
  return _tiny_run(config, num_samples=4)


@pytest.fixture
def ring_config():
  """The MLP GAN on the 8-Gaussian ring, made tiny."""
  config = gaussians.base_config()
  config.generator.hidden_dims = (16,)
  config.discriminator.hidden_dims = (16,)
  return _tiny_run(config, num_samples=16)


# Progress on a long run: every `--progress-every` seconds (60 by default) a line with the
# tests done, the time so far and the time left at the rate so far.
def pytest_addoption(parser):
  parser.addoption("--progress-every", type=float, default=60.0,
                   help="seconds between progress lines (0: after every test)")


def pytest_configure(config):
  if not hasattr(config, "workerinput"):  # pytest itself, not one of pytest-xdist's workers.
    config.pluginmanager.register(_Progress(config), "jaxgan-progress")


class _Progress:
  def __init__(self, config):
    self.every = config.getoption("progress_every")
    self.plugins = config.pluginmanager
    self.total = self.done = 0
    self.start = self.last = time.monotonic()

  def pytest_collection_finish(self, session):
    self.total = len(session.items)

  @pytest.hookimpl(optionalhook=True)
  def pytest_xdist_node_collection_finished(self, node, ids):
    self.total = len(ids)

  def pytest_runtest_logfinish(self):
    self.done += 1
    now = time.monotonic()
    reporter = self.plugins.get_plugin("terminalreporter")
    if now - self.last < self.every or reporter is None:
      return
    self.last = now
    elapsed = now - self.start
    left = elapsed / self.done * (self.total - self.done)
    reporter.write("\n")
    reporter.write_line(f"[progress] {self.done}/{self.total} tests in "
                             f"{_minutes(elapsed)}, about {_minutes(left)} left at the rate "
                             f"so far")


def _minutes(seconds: float) -> str:
  return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def pytest_collection_modifyitems(items):
  """tests/test_readme.py, the longest file by far (~6 of the suite's ~50 CPU minutes), runs
  first: on the first worker beside the rest, rather than alone at the end."""
  items.sort(key=lambda item: item.path.name != "test_readme.py")


def _make_task(**fields):
  config = default.base_config()
  for name, value in fields.items():
    config[name] = value
  return tasks.from_config(config)


@pytest.fixture
def make_task():
  """`make_task(**fields)`: the task of `default.base_config()` with `fields` changed, e.g.
  `make_task(task="mixture", dataset="ring8")`."""
  return _make_task
