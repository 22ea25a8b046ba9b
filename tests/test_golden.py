"""Golden outputs of `train_step`: three steps of 32 configurations, on jit and on 4 devices
(pmap and sharded), against the numbers committed in tests/golden/step.json.

A refactor must change no number. On the machine that wrote the file (same CPU, same
jax) every leaf of the state and every metric must be bit-exact (`digest`); elsewhere,
where XLA may round differently, they must agree to `RTOL`. After a change that is meant
to change numbers, write the file again and say why in the commit:

  JAXGAN_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/test_golden.py -n 0

Batches are made here from `(step, shape)`, so the check pins the step, not the data.
"""

import hashlib
import json
import os
import pathlib
import platform

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import cyclegan_digits_thick, default, gaussians, pix2pix_digits_edges
from jaxgan import init_state, parallel, trainer
from jaxgan.tasks import DataSpec

GOLDEN = pathlib.Path(__file__).parent / "golden" / "step.json"
UPDATE = os.environ.get("JAXGAN_GOLDEN_UPDATE") == "1"
STEPS = 3
RTOL = 1e-4


def _digits(config):
  config.latent_dim = 8
  config.generator.features = (16, 8)
  config.discriminator.features = (8, 16)


def _ring(config):
  config.generator.hidden_dims = (16,)
  config.discriminator.hidden_dims = (16,)


def _pix2pix(config):
  pix2pix_digits_edges.pix2pix(config, image_size=16, features=4, batch_size=8)
  config.generator.dropout_blocks = 1  # Dropout, drawn from G's noise stream.
  config.discriminator.num_layers = 2


def _cyclegan(config):
  cyclegan_digits_thick.cyclegan(config, image_size=8, features=4, batch_size=8)
  config.generator.num_blocks = 1
  config.discriminator.num_layers = 1
  config.replay.size = 16  # The image pool.


# Each base: its config changes, and its data.
BASES = {"digits": (_digits, DataSpec((16, 16, 1))), "ring": (_ring, DataSpec((2,))),
         "pix2pix": (_pix2pix, DataSpec((16, 16, 1), translation="paired",
                                        source_shape=(16, 16, 1))),
         "cyclegan": (_cyclegan, DataSpec((2, 8, 8, 1), translation="unpaired"))}


def _set(**fields):
  def apply(config):
    for name, value in fields.items():
      target = config
      *path, last = name.split("__")
      for part in path:
        target = target[part]
      target[last] = value
  return apply


# name: (base, changes, layouts). Layouts: "jit", "pmap" and "sharded" (4 fake devices).
CASES = {
    "digits": ("digits", {}, ("jit", "pmap", "sharded")),
    "digits_default": ("digits", dict(g_ema_decay=0.99, d_penalties=(
        {"name": "r1", "weight": 1.0, "every": 4},)), ("jit",)),
    "digits_batch_norm": ("digits", dict(discriminator__batch_norm=True,
                                         discriminator__use_bias=False),
                          ("jit", "pmap", "sharded")),
    "simultaneous": ("digits", dict(schedule="simultaneous"), ("jit", "sharded")),
    "n_critic_2": ("ring", dict(n_critic=2), ("jit", "pmap")),
    "n_critic_3": ("digits", dict(n_critic=3), ("jit",)),
    "wgan_gp": ("ring", dict(loss="wasserstein", n_critic=2, d_penalties=(
        {"name": "gradient_penalty", "weight": 10.0},)), ("jit", "sharded")),
    "lazy_r1": ("digits", dict(d_penalties=({"name": "r1", "weight": 10.0, "every": 2},)),
                ("jit",)),
    "r2_and_r1": ("ring", dict(d_penalties=({"name": "r1", "weight": 1.0},
                                            {"name": "r2", "weight": 0.5, "every": 3})),
                  ("jit",)),
    "instance_noise": ("digits", dict(instance_noise__std=0.1,
                                      instance_noise__anneal_steps=4), ("jit",)),
    "label_flips": ("ring", dict(label_flip_fraction=0.25), ("jit",)),
    "historical_ema": ("ring", dict(historical_averaging_weight=0.5, g_ema_decay=0.9),
                       ("jit", "pmap")),
    "replay_skip": ("ring", dict(replay__size=16, replay__fraction=0.5,
                                 skip_nonfinite_updates=True), ("jit", "sharded")),
    "replay_simultaneous": ("ring", dict(replay__size=16, replay__fraction=0.5,
                                         schedule="simultaneous"), ("jit",)),
    "unrolled": ("ring", dict(unrolled__steps=2, d_optimizer__eps_root=1e-8), ("jit",)),
    "unrolled_no_gradient": ("ring", dict(unrolled__steps=2, unrolled__gradient=False),
                             ("jit",)),
    "past_discriminators": ("ring", dict(past_discriminators__count=2,
                                         past_discriminators__every=1), ("jit",)),
    "packing": ("ring", dict(packing=2), ("jit", "pmap")),
    "hinge_clip": ("ring", dict(loss="hinge", d_weight_clip=0.05), ("jit",)),
    "relativistic": ("ring", dict(loss="relativistic_average"), ("jit",)),
    "relativistic_simultaneous": ("ring", dict(loss="relativistic_average",
                                               schedule="simultaneous"), ("jit",)),
    "least_squares": ("digits", dict(loss="least_squares"), ("jit",)),
    "conditional": ("ring", dict(conditional=True), ("jit", "sharded")),
    "spectral_norm_hinge": ("digits", dict(loss="hinge", discriminator__spectral_norm=True),
                            ("jit",)),
    "progressive": ("digits", dict(model="progressive", generator={"features": (8, 8, 8)},
                                   discriminator={"features": (8, 8, 8)},
                                   growth={"phase_steps": 1, "fade_steps": 1}),
                    ("jit", "sharded")),
    "progressive_relativistic": ("digits", dict(
        model="progressive", generator={"features": (8, 8, 8)},
        discriminator={"features": (8, 8, 8)}, growth={"phase_steps": 2, "fade_steps": 2},
        loss="relativistic_average"), ("jit",)),
    "msg": ("digits", dict(model="msg", generator={"features": (8, 8, 8)},
                           discriminator={"features": (8, 8, 8)}), ("jit", "pmap")),
    "sngan_resnet": ("digits", dict(model="sngan_resnet", generator={"features": (8, 8)},
                                    discriminator={"features": (8, 8)}, loss="hinge"),
                     ("jit",)),
    "cosine_decay": ("ring", dict(g_optimizer__decay="cosine", d_optimizer__decay="linear"),
                     ("jit",)),
    "bfloat16": ("digits", dict(dtype="bfloat16"), ("jit",)),
    "diffaugment_r1": ("digits", dict(augment="diffaugment", d_penalties=(
        {"name": "r1", "weight": 1.0},)), ("jit", "pmap")),
    "ada": ("digits", dict(augment="ada", augment_kwargs={"p": 0.5, "speed_images": 100,
                                                          "interval": 1}),
            ("jit", "pmap", "sharded")),
    "pix2pix": ("pix2pix", {}, ("jit", "sharded")),
    "cyclegan": ("cyclegan", {}, ("jit", "pmap")),
}


def _config(name: str):
  base, changes, _ = CASES[name]
  config = gaussians.base_config() if base == "ring" else default.base_config()
  BASES[base][0](config)
  config.batch_size = 8
  config.num_train_steps = 10
  _set(**changes)(config)
  return config


def _batch(step: int, shape: tuple[int, ...], num_classes: int, paired: bool):
  """A fixed batch for `step`: values in [-1, 1], and labels when conditional (sources when
  a paired translation)."""
  rng = np.random.default_rng(step)
  samples = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
  if paired:
    return samples, rng.uniform(-1.0, 1.0, shape).astype(np.float32)
  if not num_classes:
    return samples
  return samples, rng.integers(num_classes, size=shape[0]).astype(np.int32)


def _outputs(name: str, layout_name: str) -> dict:
  """Every metric of each step, and a digest and the sums of every leaf of the final state."""
  config = _config(name)
  spec = BASES[CASES[name][0]][1]._replace(num_classes=8 if config.conditional else 0)
  data_shape = spec.shape
  gan = trainer.build_gan(config, spec)
  layout = (parallel.local_layout(1) if layout_name == "jit"
            else parallel.local_layout(4, layout_name))
  state, rng = layout.put((init_state(gan, jax.random.key(0), data_shape), jax.random.key(1)))
  metrics = {}
  for i in range(STEPS):
    if i == 0 or gan.at_step(i) != gan.at_step(i - 1):
      step_fn = layout.compile(gan.at_step(i))
    batch = _batch(i, (config.batch_size * gan.n_critic, *data_shape), gan.num_classes,
                   spec.translation == "paired")
    state, step_metrics = step_fn(state, layout.place(batch, gan.n_critic), rng)
    metrics |= {f"{i}/{k}": float(v)
                for k, v in jax.device_get(layout.local(step_metrics)).items()}
  leaves = jax.tree_util.tree_leaves_with_path(jax.device_get(layout.local(state)))
  digest = hashlib.sha256()
  sums = {}
  for path, leaf in leaves:
    leaf = np.asarray(jax.random.key_data(leaf) if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)
                      else leaf)
    digest.update(leaf.tobytes())
    group = "".join(map(str, path[:2]))  # e.g. .g.params, .d.opt_state
    sums[group] = sums.get(group, 0.0) + float(np.sum(np.abs(leaf.astype(np.float64))))
  digest.update(json.dumps(metrics, sort_keys=True).encode())
  return {"metrics": metrics, "abs_sums": sums, "digest": digest.hexdigest()}


def _machine() -> str:
  """What the bit-exact comparison holds for: the CPU and the jax and jaxlib versions."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    pass
  import jaxlib
  return f"{cpu} | jax {jax.__version__} | jaxlib {jaxlib.__version__}"


CASE_IDS = [f"{name}-{layout}" for name, (_, _, layouts) in CASES.items() for layout in layouts]


def _golden() -> dict:
  return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {"machine": "", "cases": {}}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASE_IDS)
def test_train_step_changes_no_number(case):
  name, layout_name = case.rsplit("-", 1)
  outputs = _outputs(name, layout_name)
  if UPDATE:
    golden = _golden()
    golden["machine"] = _machine()
    golden["cases"][case] = outputs
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(golden, indent=0, sort_keys=True) + "\n")
    return
  expected = _golden()["cases"].get(case)
  assert expected is not None, f"No golden outputs for {case}: write them (module docstring)."
  assert outputs["metrics"] == pytest.approx(expected["metrics"], rel=RTOL, abs=1e-6)
  assert outputs["abs_sums"] == pytest.approx(expected["abs_sums"], rel=RTOL, abs=1e-6)
  if _golden()["machine"] == _machine():
    assert outputs["digest"] == expected["digest"], "Same machine, but not bit-exact."


def test_every_case_has_golden_outputs():
  assert sorted(_golden()["cases"]) == sorted(CASE_IDS)
