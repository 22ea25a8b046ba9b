"""Checkpoints with orbax: `WORKDIR/checkpoints/<step>/` holding the state and the config."""

import os

import jax
import ml_collections
import orbax.checkpoint as ocp

from jaxgan.state import GANState


def make_manager(workdir: str, *, max_to_keep: int) -> ocp.CheckpointManager:
  """A manager of `workdir/checkpoints`, keeping the newest `max_to_keep`."""
  return ocp.CheckpointManager(
      os.path.abspath(os.path.join(workdir, "checkpoints")),
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True))


def save(manager: ocp.CheckpointManager, state: GANState,
         config: ml_collections.ConfigDict) -> None:
  """Saves `state` (single-device) and `config` at `state.step`, in the background."""
  # A host copy: the device buffers are donated to the next step while orbax writes.
  host_state = jax.device_get(state)
  manager.save(int(host_state.step), args=ocp.args.Composite(
      state=ocp.args.StandardSave(host_state), config=ocp.args.JsonSave(config.to_dict())))


def restore_or_init(manager: ocp.CheckpointManager, state: GANState) -> GANState:
  """The newest checkpoint restored into the structure of `state`, or `state` if none."""
  step = manager.latest_step()
  if step is None:
    return state
  restored = manager.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(state)))
  return restored.state
