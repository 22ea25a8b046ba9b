"""Data parallelism: how `train_step` is compiled, and where the state and batches live.

Three layouts of the same step function:
- one device: `jax.jit`;
- `"pmap"`: `jax.pmap` over this host's devices; every array carries a leading device axis;
- `"sharded"`: `jax.jit` of `jax.shard_map` over a 1-D `Mesh` of the devices of every
  process, the state replicated and each batch split along the mesh axis. It takes XLA
  compiler options, and spans hosts started with `jax.distributed`.
Both multi-device layouts run the per-device step with `axis_name=AXIS`, whose
`lax.pmean`s average gradients, BatchNorm statistics and metrics.
"""

import collections
import dataclasses
import functools
import sys
from typing import Any, Callable, Iterator

import flax.jax_utils
import grain
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from jaxgan import layers
from jaxgan.errors import ConfigError
from jaxgan.state import GAN
from jaxgan.step import AXIS, train_step
from jaxgan.tasks.base import Batch, Dataset

PARALLELISMS = ("sharded", "pmap")
BATCH_NORM_STATISTICS = ("per_device", "cross_replica")


def device_rows(batch_size: int, num_devices: int, n_critic: int) -> np.ndarray:
  """`[devices, batch_size / devices]`: the rows of a `[n_critic * batch, ...]` batch that
  each device takes, the same share of every critic step's batch."""
  per_device = batch_size // (n_critic * num_devices)
  rows = np.arange(batch_size).reshape(n_critic, num_devices, per_device).swapaxes(0, 1)
  return rows.reshape(num_devices, n_critic * per_device)


def with_batch_norm_axis(gan: GAN) -> GAN:
  """`gan` whose models normalise with the batch statistics of all devices along AXIS
  (cross-replica BatchNorm); models without BatchNorm are left as they are."""
  def synced(module):
    if "batch_norm_axis" not in module.__dataclass_fields__:
      return module
    return module.clone(batch_norm_axis=AXIS)
  return dataclasses.replace(gan, generator=synced(gan.generator),
                             discriminator=synced(gan.discriminator))


@dataclasses.dataclass(frozen=True)
class Layout:
  """Where training runs: `devices` in mesh order (one device: plain jit) and how
  (`parallelism`), with `batch_norm` statistics per device or across them."""
  devices: tuple[jax.Device, ...]
  parallelism: str = "sharded"
  batch_norm: str = "per_device"

  def __post_init__(self):
    if self.parallelism not in PARALLELISMS:
      raise ConfigError(f"Unknown parallelism {self.parallelism!r}. Known: "
                        f"{', '.join(PARALLELISMS)}.")
    if self.batch_norm not in BATCH_NORM_STATISTICS:
      raise ConfigError(f"Unknown batch_norm_statistics {self.batch_norm!r}. Known: "
                        f"{', '.join(BATCH_NORM_STATISTICS)}.")
    if self.parallelism == "pmap" and jax.process_count() > 1:
      raise ConfigError("pmap trains on one host's devices; a run over several processes "
                        "needs --config.parallelism=sharded.")

  @property
  def num_devices(self) -> int:
    return len(self.devices)

  def __str__(self) -> str:
    """E.g. "1 cpu device", "4 gpu devices (sharded)", "8 tpu devices of 2 processes
    (sharded)"."""
    devices = f"{self.num_devices} {self.devices[0].platform} device"
    if self.num_devices == 1:
      return devices
    processes = len({d.process_index for d in self.devices})
    of = f" of {processes} processes" if processes > 1 else ""
    return f"{devices}s{of} ({self.parallelism})"

  @property
  def mesh(self) -> jax.sharding.Mesh:
    return jax.sharding.Mesh(np.array(self.devices), (AXIS,))

  def compile(self, gan: GAN) -> Callable:
    """`train_step` of `gan` compiled for this layout; the state is donated."""
    if self.num_devices == 1:
      return jax.jit(functools.partial(train_step, gan), donate_argnums=0,
                     compiler_options=layers.compiler_options())
    if self.batch_norm == "cross_replica":
      gan = with_batch_norm_axis(gan)
    step = functools.partial(train_step, gan, axis_name=AXIS)
    if self.parallelism == "pmap":
      return _one_step_queued_on_cpu(
          jax.pmap(step, axis_name=AXIS, devices=self.devices, donate_argnums=0))
    replicated, split = PartitionSpec(), PartitionSpec(AXIS)
    # check_vma=False keeps pmap's semantics, which the step is written for: a gradient with
    # respect to replicated parameters is this device's own (averaged by the step's pmean),
    # not already summed over devices.
    step = jax.shard_map(step, mesh=self.mesh, in_specs=(replicated, split, replicated),
                         out_specs=(replicated, replicated), check_vma=False)
    return _one_step_queued_on_cpu(
        jax.jit(step, donate_argnums=0, compiler_options=layers.compiler_options()))

  def put(self, tree: Any) -> Any:
    """`tree` (the same on every process) placed whole on every device."""
    if self.num_devices == 1:
      return jax.device_put(tree, self.devices[0])
    if self.parallelism == "pmap":
      return flax.jax_utils.replicate(tree, self.devices)
    sharding = NamedSharding(self.mesh, PartitionSpec())

    def replicate(x):  # From host memory: device_put cannot reach other processes' devices.
      if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(replicate(jax.random.key_data(x)),
                                        impl=jax.random.key_impl(x))
      host = np.asarray(x)
      return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(replicate, tree)

  def local(self, tree: Any) -> Any:
    """One device's copy of a tree placed by `put` or returned by the step."""
    if self.num_devices == 1:
      return tree
    if self.parallelism == "pmap":
      return flax.jax_utils.unreplicate(tree)
    return jax.tree.map(lambda x: x.addressable_data(0), tree)

  def own_rows(self, batch_size: int, n_critic: int) -> np.ndarray | None:
    """The rows of a `[n_critic * batch, ...]` batch of `batch_size` rows that this
    process's devices take, in their order; None for one device (all, in order)."""
    if self.num_devices == 1:
      return None
    rows = device_rows(batch_size, self.num_devices, n_critic)
    process = jax.process_index()
    return rows[[d.process_index == process for d in self.devices]].reshape(-1)

  def place_rows(self, rows: Batch, batch_size: int) -> Any:
    """This process's rows of a batch of `batch_size` rows (see `own_rows`), placed for
    the step: as they are for one device, `[devices, rows / devices, ...]` for pmap, a
    global array split along the mesh axis for the sharded step."""
    if self.num_devices == 1:
      return rows
    if self.parallelism == "pmap":
      return jax.tree.map(lambda x: x.reshape(self.num_devices, -1, *x.shape[1:]), rows)
    sharding = NamedSharding(self.mesh, PartitionSpec(AXIS))
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(
        sharding, x, (batch_size, *x.shape[1:])), rows)

  def place(self, batch: Batch, n_critic: int) -> Any:
    """A whole `[n_critic * batch, ...]` batch placed for the step."""
    batch_size = len(jax.tree.leaves(batch)[0])
    rows = self.own_rows(batch_size, n_critic)
    if rows is not None:
      batch = jax.tree.map(lambda x: x[rows], batch)
    return self.place_rows(batch, batch_size)

  def batches(self, dataset: Dataset, batch_size: int, n_critic: int,
              start_step: int) -> Iterator[Any]:
    """The training batches `[n_critic * batch_size, ...]` from `start_step` on, placed for
    the step; each process reads only its own rows."""
    total = batch_size * n_critic
    own_rows = self.own_rows(total, n_critic)
    placed = (self.place_rows(batch, total) for batch in read_ahead(
        lambda step: dataset.batch(step, total, own_rows), start_step))
    if self.parallelism == "pmap" and self.num_devices > 1:
      return flax.jax_utils.prefetch_to_device(placed, 2, self.devices)
    return placed



def read_ahead(batch: Callable[[int], Any], start_step: int, *, threads: int = 2,
               buffer: int = 4) -> Iterator[Any]:
  """`batch(step)` for each step from `start_step` on, in order, read up to `buffer` steps
  ahead by `threads` threads of a Grain pipeline while the devices train."""
  steps = grain.MapDataset.range(start_step, sys.maxsize).map(batch)
  return iter(steps.to_iter_dataset(
      grain.ReadOptions(num_threads=threads, prefetch_buffer_size=buffer)))


class StopVote:
  """Whether any process has asked to stop, agreed by every process at the same step without
  waiting for the devices every step.

  Alone, a process's own flag counts at once. Over several processes, each step's flags are
  gathered by an all-reduce that is only queued, and read `lag` steps later, when it has
  run: every process reads the same votes at the same steps, so all stop at one step, `lag`
  steps after the signal landed, and the host keeps queueing steps ahead of the devices.
  """

  def __init__(self, lag: int = 4):
    self.lag = lag
    self.pending: collections.deque = collections.deque()
    self.alone = jax.process_count() == 1
    if not self.alone:
      mesh = jax.sharding.Mesh(np.array(jax.devices()), ("processes",))
      self.votes = NamedSharding(mesh, PartitionSpec("processes"))
      self.any = jax.jit(jax.numpy.any, out_shardings=NamedSharding(mesh, PartitionSpec()))

  def __call__(self, flag: bool) -> bool:
    """This step's vote; whether the votes of `lag` steps ago hold a stop."""
    if self.alone:
      return flag
    local = np.full(jax.local_device_count(), flag)
    self.pending.append(self.any(jax.make_array_from_process_local_data(self.votes, local)))
    if len(self.pending) <= self.lag:
      return False
    return bool(self.pending.popleft())


def _one_step_queued_on_cpu(step: Callable) -> Callable:
  """`step`, which on XLA:CPU waits for the step before the one it queues to finish.

  With tens of multi-device steps queued, XLA:CPU's devices deadlocked in their first
  all-reduce ("Expected 2 threads to join the rendezvous", then an abort), under pmap and
  sharded alike (2 cores, 2 fake devices, the MLP GAN, 50-200 steps queued). One step
  queued ahead of the running one trained 1,500 steps without it.
  """
  if jax.default_backend() != "cpu":
    return step
  previous_metrics = None

  def run(*args):
    nonlocal previous_metrics
    state, metrics = step(*args)
    jax.block_until_ready(previous_metrics)
    previous_metrics = metrics
    return state, metrics

  return run


def layout_for(config: Any) -> Layout:
  """The layout of `config`: `num_devices` local devices (0: all), or with several
  processes every device of every process."""
  if jax.process_count() > 1:
    if config.num_devices:
      raise ConfigError("num_devices picks local devices; a run over several processes uses "
                        "every device of each: set --config.num_devices=0.")
    return global_layout(config.parallelism, config.batch_norm_statistics)
  return local_layout(config.num_devices, config.parallelism, config.batch_norm_statistics)


def global_layout(parallelism: str = "sharded", batch_norm: str = "per_device") -> Layout:
  """A layout over every device of every process, each process's devices contiguous in the
  mesh (so that its rows of a batch are one block)."""
  devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
  return Layout(tuple(devices), parallelism, batch_norm)


def local_layout(num_devices: int = 0, parallelism: str = "sharded",
                 batch_norm: str = "per_device") -> Layout:
  """A layout over this process's first `num_devices` devices (0: all)."""
  available = jax.local_device_count()
  num = num_devices or available
  if num > available:
    raise ConfigError(f"num_devices={num} but only {available} devices are available.")
  return Layout(tuple(jax.local_devices()[:num]), parallelism, batch_norm)
