"""Starting a run from a trained GAN: `--config.init_from=WORKDIR` fine-tunes its G and D
(and EMA generator) on this config's data, with fresh optimizer states and the step at 0;
`--config.freeze_d_layers=N` keeps D's first N layers as trained (FreezeD, Mo et al.
2020). The models must be the same as the trained ones (their arrays' names and shapes)."""

import logging
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import traverse_util

from jaxgan import regularizers
from jaxgan.errors import ConfigError
from jaxgan.state import GAN, GANState, Player

log = logging.getLogger(__name__)


def _matching(like: Any, loaded: Any, what: str, path: str) -> Any:
  """`loaded` (nested dicts) in the structure of `like`; ConfigError naming the arrays that
  differ if their names or shapes do."""
  wanted = traverse_util.flatten_dict(like, sep="/")
  found = traverse_util.flatten_dict(loaded or {}, sep="/")
  differing = sorted(k for k in wanted.keys() | found.keys()
                     if jnp.shape(wanted.get(k, ())) != jnp.shape(found.get(k, ()))
                     or (k in wanted) != (k in found))
  if differing:
    raise ConfigError(
        f"init_from={path}: its {what} differs from this config's "
        f"({', '.join(differing[:4])}{' ...' if len(differing) > 4 else ''}). Fine-tuning "
        f"starts from the same models: use the model settings it was trained with.")
  return traverse_util.unflatten_dict(
      {k: jnp.asarray(found[k], jnp.asarray(v).dtype) for k, v in wanted.items()}, sep="/")


def _player(like: Player, loaded: dict, optimizer: optax.GradientTransformation | None,
            what: str, path: str) -> Player:
  """A player with the trained parameters and statistics, a fresh optimizer state (none
  for the EMA generator, `optimizer` None) and, for historical averaging, a history
  starting at the trained parameters."""
  params = _matching(like.params, loaded["params"], f"{what}'s parameters", path)
  stats = _matching(like.batch_stats, loaded.get("batch_stats"), f"{what}'s statistics", path)
  history = None if like.history is None else jax.tree.map(jnp.copy, params)
  opt_state = () if optimizer is None else optimizer.init(params)
  return like.replace(params=params, batch_stats=stats, opt_state=opt_state, history=history)


def init_from(state: GANState, gan: GAN, path: str) -> GANState:
  """`state` (fresh, step 0) with G, D and the EMA generator of the workdir `path`'s best
  (else newest) checkpoint; G's EMA starts from the trained EMA generator, or from G."""
  from jaxgan import generator  # pylint: disable=import-outside-toplevel
  try:
    _, trained, step = generator.read_checkpoint(path)
  except FileNotFoundError as e:
    raise ConfigError(f"init_from={path}: {e}") from None
  g = _player(state.g, trained["g"], gan.g_optimizer, "generator", path)
  d = _player(state.d, trained["d"], gan.d_optimizer, "discriminator", path)
  g_ema = state.g_ema
  if g_ema is not None:
    g_ema = _player(g_ema, trained.get("g_ema") or trained["g"], None, "EMA generator", path)
  log.info("Fine-tuning from %s at step %d: its G, D%s, new optimizer states.", path, step,
           " and EMA generator" if g_ema is not None else "")
  return state.replace(g=g, d=d, g_ema=g_ema)


def layer_names(discriminator: nn.Module, data_shape: Sequence[int], num_classes: int,
                packing: int) -> list[str]:
  """D's top-level layers in the order its inputs pass through them (creation order)."""
  inputs = (regularizers.pack(jnp.zeros((packing, *data_shape)), packing),)
  if num_classes:
    inputs += (jnp.zeros((1,), jnp.int32),)
  shapes = jax.eval_shape(lambda: discriminator.init(
      {"params": jax.random.key(0), "noise": jax.random.key(0)}, *inputs, train=False))
  return list(shapes["params"])


def freeze_first_layers(names: Sequence[str], count: int) -> optax.GradientTransformation:
  """Zeroes the updates of the first `count` of the layers `names` (FreezeD); chain it
  after D's optimizer."""
  if count > len(names):
    raise ConfigError(f"freeze_d_layers={count}, but D has {len(names)} layers "
                      f"({', '.join(names)}).")
  frozen = set(names[:count])
  return optax.masked(optax.set_to_zero(), lambda params: {k: k in frozen for k in params})
