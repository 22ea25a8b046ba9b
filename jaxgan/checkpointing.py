"""Checkpoints with orbax: `WORKDIR/checkpoints/<step>/` holding the state and the config.

Orbax writes each checkpoint into a temporary folder and renames it when complete,
so a crash or kill mid-save leaves the previous checkpoints as they were. A
checkpoint that fails to read is moved to `WORKDIR/damaged_checkpoints/` and the
next newest is used. A checkpoint whose arrays do not match the current config's
shapes is refused, never overwritten.
"""

import contextlib
import fcntl
import logging
import os
import shutil
from typing import Any, Iterator

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from jaxgan.errors import ConfigError
from jaxgan.state import GANState

log = logging.getLogger(__name__)


def make_manager(workdir: str, *, max_to_keep: int | None = None, best_metric: str | None = None,
                 best_mode: str = "min", create: bool = True) -> ocp.CheckpointManager:
  """A manager of `workdir/checkpoints`, keeping the newest `max_to_keep` (all if None), or
  with `best_metric` the `max_to_keep` best by that metric (`best_mode` "min" or "max");
  `create=False` to only read existing checkpoints."""
  best_fn = (lambda metrics: metrics[best_metric]) if best_metric else None
  return ocp.CheckpointManager(
      os.path.abspath(os.path.join(workdir, "checkpoints")),
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=create,
                                           best_fn=best_fn, best_mode=best_mode),
      item_handlers={"state": ocp.StandardCheckpointHandler(),
                     "config": ocp.JsonCheckpointHandler()})


def save(manager: ocp.CheckpointManager, state: GANState,
         config: ml_collections.ConfigDict, metrics: dict[str, float] | None = None) -> None:
  """Saves `state` (single-device) and `config` at `state.step`, in the background.

  Raises FloatingPointError rather than save a non-finite parameter.
  """
  # A host copy: the device buffers are donated to the next step while orbax writes.
  host_state = jax.device_get(state)
  bad = [path for path, leaf in _leaves(host_state).items()
         if np.issubdtype(np.asarray(leaf).dtype, np.floating) and not np.all(np.isfinite(leaf))]
  if bad:
    raise FloatingPointError(f"Not saving step {int(host_state.step)}: non-finite values in "
                             f"{', '.join(bad[:5])}.")
  manager.save(int(host_state.step), args=ocp.args.Composite(
      state=ocp.args.StandardSave(host_state), config=ocp.args.JsonSave(config.to_dict())),
      metrics=metrics)


def _leaves(tree: Any) -> dict[str, Any]:
  """`{"g/params/Dense_0/kernel": leaf, ...}` for a state or a checkpoint's metadata."""
  def name(entry) -> str:
    for attribute in ("key", "name", "idx"):
      if hasattr(entry, attribute):
        return str(getattr(entry, attribute))
    return str(entry)
  return {"/".join(name(e) for e in path): leaf
          for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _flat_config(config: dict, prefix: str = "") -> dict[str, Any]:
  flat = {}
  for key, value in config.items():
    if isinstance(value, dict):
      flat |= _flat_config(value, f"{prefix}{key}.")
    else:
      flat[prefix + key] = value
  return flat


def _check_compatible(manager: ocp.CheckpointManager, step: int, state: GANState,
                      config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError if checkpoint `step` holds arrays of other names or shapes, and
  another error if it cannot be read."""
  path = os.path.join(manager.directory, str(step), "state")
  metadata = manager.item_metadata(step)["state"]
  saved = {k: tuple(v.shape) for k, v in _leaves(metadata).items() if hasattr(v, "shape")}
  if not saved:
    raise OSError(f"no readable array metadata in {path}")
  wanted = {k: tuple(np.shape(v)) for k, v in _leaves(state).items()}
  differences = sorted(k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k))
  if not differences:
    return
  changed = config_changes(manager, step, config)
  raise ConfigError(
      f"The checkpoint at {path} does not fit this config (arrays differ: "
      f"{', '.join(differences[:4])}{' ...' if len(differences) > 4 else ''}). "
      f"Config fields changed since it was written: {'; '.join(changed) or 'none'}. "
      f"Use a new --workdir, or go back to the settings it was written with.")


def config_changes(manager: ocp.CheckpointManager, step: int,
                   config: ml_collections.ConfigDict) -> list[str]:
  """`["field: saved -> current", ...]` for each field of `config` that differs from the
  config saved with checkpoint `step`."""
  saved = _flat_config(manager.restore(step, args=ocp.args.Composite(
      config=ocp.args.JsonRestore())).config)
  current = _flat_config(config.to_dict())
  return [f"{k}: {saved.get(k)!r} -> {current.get(k)!r}"
          for k in sorted(saved.keys() | current.keys())
          if _jsonable(saved.get(k)) != _jsonable(current.get(k))]


def _jsonable(value: Any) -> Any:
  """Tuples and lists compare equal, as the config's JSON copy holds lists."""
  if isinstance(value, (tuple, list)):
    return [_jsonable(v) for v in value]
  if isinstance(value, dict):
    return {k: _jsonable(v) for k, v in value.items()}
  return value


def _set_aside(manager: ocp.CheckpointManager, step: int, error: Exception) -> None:
  """Moves an unreadable checkpoint to `damaged_checkpoints/`, for inspection."""
  source = os.path.join(manager.directory, str(step))
  target = os.path.join(os.path.dirname(manager.directory), "damaged_checkpoints", str(step))
  os.makedirs(os.path.dirname(target), exist_ok=True)
  shutil.rmtree(target, ignore_errors=True)
  shutil.move(source, target)
  log.warning("Checkpoint %s cannot be read (%s: %s); moved it to %s and trying the one "
              "before.", source, type(error).__name__, str(error)[:200], target)
  manager.reload()


def restore_or_init(manager: ocp.CheckpointManager, state: GANState,
                    config: ml_collections.ConfigDict, step: int | None = None) -> GANState:
  """The newest readable checkpoint (or the one at `step`) restored into the structure
  of `state`, or `state` if there is none. Raises ConfigError if the checkpoint does
  not fit `config`."""
  steps = sorted(manager.all_steps(), reverse=True) if step is None else [step]
  for step in steps:
    try:
      _check_compatible(manager, step, state, config)
      return manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(state))).state
    except ConfigError:
      raise
    except Exception as e:  # pylint: disable=broad-except  Any read failure means damage.
      _set_aside(manager, step, e)
  return state


@contextlib.contextmanager
def workdir_lock(workdir: str) -> Iterator[None]:
  """Holds `workdir/lock` for the duration; a second trainer on the same workdir gets a
  ConfigError. The kernel drops the lock when the process dies, even by kill -9; a run that
  ends removes the file. A workdir made here that ends holding nothing but the lock (a run
  that failed before writing anything) is removed."""
  created = _first_missing(os.path.abspath(workdir))
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "lock")
  lock_file = _lock(path, workdir)
  with lock_file:
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(str(os.getpid()))
    lock_file.flush()
    try:
      yield
    finally:
      if created and _holds_only(created, os.path.abspath(path)):
        shutil.rmtree(created)
      elif os.path.exists(path):
        os.remove(path)  # Still locked: no other process can take it before it is gone.
      fcntl.flock(lock_file, fcntl.LOCK_UN)


def _lock(path: str, workdir: str, attempts: int = 5):
  """`path` opened and locked by this process. A file that another run removed while this
  one waited to lock it is opened again, so that two runs never hold different files."""
  for _ in range(attempts):
    lock_file = open(path, "a+", encoding="utf-8")  # pylint: disable=consider-using-with
    try:
      fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      lock_file.seek(0)
      holder = lock_file.read().strip() or "?"
      lock_file.close()
      raise ConfigError(f"Another training process (pid {holder}) is using "
                        f"{os.path.abspath(workdir)}; wait for it to finish or choose another "
                        f"--workdir.") from None
    if os.path.exists(path) and os.stat(path).st_ino == os.fstat(lock_file.fileno()).st_ino:
      return lock_file
    lock_file.close()  # Locked after its holder removed it: open the new one.
  raise ConfigError(f"Could not lock {path}: other runs keep taking it.")


def _first_missing(path: str) -> str | None:
  """The outermost folder of `path` that does not exist yet (None if `path` exists)."""
  missing = None
  while not os.path.exists(path):
    missing, path = path, os.path.dirname(path)
  return missing


def _holds_only(directory: str, kept_file: str) -> bool:
  """Whether `directory` holds no file but `kept_file` (empty folders aside)."""
  return all(os.path.join(root, name) == kept_file
             for root, _, names in os.walk(directory) for name in names)
