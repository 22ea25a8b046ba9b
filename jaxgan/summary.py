"""Prints the networks of a config: `.venv/bin/python -m jaxgan.summary --config
configs/stylegan2_digits.py`.

One line per network with its parameter count, then a table per network (Flax's
`tabulate`: each layer's inputs, outputs and parameters). Nothing is trained or
generated; the data's shape comes from `--data_shape` (e.g. `32,32,3`), or else from the
config's dataset as the models see it (for images, the prepared index; no samples are
read).
"""

import sys

import jax
import jax.numpy as jnp
from absl import app, flags

from jaxgan import command_line, tasks, trainer
from jaxgan.errors import ConfigError
from jaxgan.state import balanced_labels
from jaxgan.tasks.base import DataSpec

command_line.define_config_flag(None)
flags.DEFINE_list("data_shape", None, "The shape of one sample, e.g. 32,32,3; default: "
                  "the config's dataset's.")
flags.DEFINE_integer("num_classes", 0, "With --data_shape: classes of a conditional config.")
flags.DEFINE_integer("depth", 2, "Levels of submodules in the tables.")
FLAGS = flags.FLAGS


def networks(config, spec: DataSpec) -> dict[str, tuple]:
  """Each network of the config's GAN, with example inputs: `{name: (module, rngs, args)}`."""
  gan = trainer.build_gan(config, spec)
  labels = balanced_labels(gan, 2)
  with_labels = () if labels is None else (labels,)
  rngs = {"params": jax.random.key(0), "noise": jax.random.key(1)}
  return {"generator": (gan.generator, rngs, (jnp.zeros((2, gan.latent_dim)), *with_labels)),
          "discriminator": (gan.discriminator, rngs,
                            (jnp.zeros((2 * gan.packing, *spec.shape)), *with_labels))}


def parameter_count(module, rngs, args) -> int:
  shapes = jax.eval_shape(lambda: module.init(rngs, *args, train=False))
  return sum(x.size for x in jax.tree.leaves(shapes["params"]))


def main(argv):
  del argv
  try:
    config = FLAGS.config
    if config is None:
      raise ConfigError("Give a config: --config configs/NAME.py.")
    if FLAGS.data_shape:
      spec = DataSpec(tuple(int(n) for n in FLAGS.data_shape), FLAGS.num_classes)
    else:
      spec = tasks.from_config(config).spec
    nets = networks(config, spec)
  except ConfigError as e:
    sys.exit(f"Config error: {e}")
  print(f"{config.model} on data of shape {tuple(spec.shape)}"
        f"{f', {spec.num_classes} classes' if config.conditional else ''}:")
  for name, (module, rngs, args) in nets.items():
    print(f"{name}: {parameter_count(module, rngs, args):,} parameters")
  for name, (module, rngs, args) in nets.items():
    print(f"\n{name}")
    print(module.tabulate(rngs, *args, train=False, depth=FLAGS.depth,
                          console_kwargs={"width": 120, "force_terminal": False,
                                                          "color_system": None}))


if __name__ == "__main__":
  app.run(main)
