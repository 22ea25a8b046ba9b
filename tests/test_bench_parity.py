"""jaxgan and the PyTorch twins in bench/ compute the same thing (skipped without torch)."""

import functools

import jax
import ml_collections
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench import specs, torch_models, torch_translation  # noqa: E402
from jaxgan import init_state, train_step, trainer  # noqa: E402
from jaxgan.step import step_latents  # noqa: E402
from jaxgan.tasks import DataSpec  # noqa: E402

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

BATCH = 4


def _models(name: str):
  config = specs.config(name, batch_size=BATCH)
  if config.model == "stylegan2":  # The twins' noise inputs draw different numbers.
    config.generator.noise = False
  data_shape = specs.MODELS[name][0]
  gan = trainer.build_gan(config, specs.data_spec(name))
  state = init_state(gan, jax.random.key(0), data_shape)
  if config.task == "translation":
    g, d = torch_translation.build(config.model, data_shape, config.generator.to_dict(),
                                   config.discriminator.to_dict())
  else:
    g, d = torch_models.build(config.model, data_shape, config.generator.to_dict(),
                              config.discriminator.to_dict(), config.latent_dim)
  return config, gan, state, g, d


def _count(module) -> int:
  return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", specs.TORCH_TWINS)
def test_same_parameter_counts(name):
  _, _, state, g, d = _models(name)
  assert _count(g) == sum(x.size for x in jax.tree.leaves(state.g.params))
  assert _count(d) == sum(x.size for x in jax.tree.leaves(state.d.params))


def _params(module) -> list[np.ndarray]:
  return [p.detach().numpy().copy() for p in module.parameters()]


@pytest.mark.parametrize("name", ["mlp28", "dcgan32", "sngan32", "stylegan2"])
def test_same_forward_and_one_step_losses_and_updates(name):
  config, gan, state, g, d = _models(name)
  torch_models.copy_from_jax(g, state.g.params, state.g.batch_stats)
  torch_models.copy_from_jax(d, state.d.params, state.d.batch_stats)
  data_shape = specs.MODELS[name][0]
  real = np.asarray(jax.random.uniform(jax.random.key(5), (BATCH, *data_shape), minval=-1))
  rng = jax.random.key(7)
  latents = np.array(step_latents(gan, rng, state.step, BATCH)[-1])

  # Forward passes in training mode (BatchNorm on batch statistics).
  variables = {"params": state.g.params, "batch_stats": state.g.batch_stats}
  fake, _ = gan.generator.apply(variables, latents, train=True, mutable=["batch_stats"])
  torch_fake = g(torch.from_numpy(latents)).detach()
  np.testing.assert_allclose(torch_models.to_torch_layout(config.model, fake).numpy(),
                             torch_fake.numpy(), rtol=1e-4, atol=1e-5)  # ~12 layers of rounding.

  # One full step: same losses and same updated parameters.
  new_state, metrics = jax.jit(functools.partial(train_step, gan))(state, real, rng)
  torch_step = torch_models.TrainStep(g, d)
  d_loss, g_loss = torch_step(torch_models.to_torch_layout(config.model, real),
                              torch.from_numpy(latents))
  np.testing.assert_allclose(metrics["d/loss"], d_loss.item(), rtol=1e-5)
  np.testing.assert_allclose(metrics["g/loss"], g_loss.item(), rtol=1e-5, atol=1e-7)
  _, _, _, g_twin, d_twin = _models(name)
  for module, twin, params, optimizer in ((g, g_twin, new_state.g.params, torch_step.g_optimizer),
                                          (d, d_twin, new_state.d.params, torch_step.d_optimizer)):
    torch_models.copy_from_jax(twin, params)
    # Adam's first step moves a weight by lr * g / (|g| + eps), i.e. by +-lr (2e-4) unless g is
    # within rounding of 0: there the two can step apart, up to opposite signs (biases just
    # before a BatchNorm, whose true gradient is 0; ~1.4% of the SNGAN G's weights, all with
    # small gradients). So: none further apart than two steps, and weighted by the size of
    # each weight's gradient (Adam's first moment), the updates agree to 0.1% of a step.
    difference = np.concatenate([np.abs(a - b).ravel()
                                 for a, b in zip(_params(module), _params(twin))])
    gradient = np.abs(np.concatenate([optimizer.state[p]["exp_avg"].numpy().ravel()
                                      for p in module.parameters()]))
    assert difference.max() <= 4e-4 + 1e-7
    assert np.sum(gradient * difference) < 1e-3 * 2e-4 * np.sum(gradient)


def test_the_sngan_twin_trains_under_torch_compile():
  """Its spectral norm replaces `u` each forward: written in place, the backward of D's
  first forward (real) read the `u` its second (fake) had changed, and torch.compile failed."""
  g, d = torch_models.build("sngan_resnet", (16, 16, 3), {"features": (8, 8)},
                            {"features": (8, 8, 8), "num_down": 2}, 8)
  step = torch_models.TrainStep(g, d)
  step.generator, step.discriminator = torch.compile(g), torch.compile(d)
  u = d.blocks[0].conv0.weight_u.clone()
  for _ in range(2):
    d_loss, g_loss = step(torch.randn(4, 3, 16, 16), torch.randn(4, 8))
    assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
  assert not torch.equal(u, d.blocks[0].conv0.weight_u)  # The power iteration moved on.


# Small twins of the translation benchmarks (pix2pix256, cyclegan128): the same code at a
# size a test affords; the U-Net without dropout, so that both draw no random numbers.
TRANSLATION = {
    "pix2pix256": ((32, 32, 3), {"features": 8, "dropout_blocks": 0},
                   {"features": 8, "num_layers": 2}),
    "cyclegan128": ((2, 16, 16, 3), {"features": 4, "num_blocks": 2},
                    {"features": 4, "num_layers": 2}),
}


@pytest.mark.parametrize("name", TRANSLATION)
def test_translation_twins_compute_the_same_step(name):
  data_shape, generator, discriminator = TRANSLATION[name]
  config = specs.config(name, batch_size=BATCH)
  config.generator, config.discriminator = (ml_collections.ConfigDict(generator),
                                            ml_collections.ConfigDict(discriminator))
  paired = config.model == "pix2pix"
  spec = DataSpec(data_shape, translation="paired", source_shape=data_shape) if paired else (
      DataSpec(data_shape, translation="unpaired"))
  gan = trainer.build_gan(config, spec)
  state = init_state(gan, jax.random.key(0), data_shape)
  g, d = torch_translation.build(config.model, data_shape, generator, discriminator)
  assert _count(g) == sum(x.size for x in jax.tree.leaves(state.g.params))
  assert _count(d) == sum(x.size for x in jax.tree.leaves(state.d.params))
  with torch.no_grad():
    g.load_jax(state.g.params, state.g.batch_stats)
    d.load_jax(state.d.params, state.d.batch_stats)
  real = np.asarray(jax.random.uniform(jax.random.key(5), (BATCH, *data_shape), minval=-1))
  sources = np.asarray(jax.random.uniform(jax.random.key(6), (BATCH, *data_shape), minval=-1))
  batch = (real, sources) if paired else real
  torch_inputs = [torch_translation.to_torch_layout(x) for x in (batch if paired else [real])]

  variables = {"params": state.g.params, "batch_stats": state.g.batch_stats}
  fake, _ = gan.generator.apply(variables, np.zeros((BATCH, 1), np.float32),
                                sources if paired else real, train=True,
                                mutable=["batch_stats"])
  torch_fake = g(torch_inputs[-1]).detach()
  np.testing.assert_allclose(torch_translation.to_torch_layout(np.asarray(fake)).numpy(),
                             torch_fake.numpy(), rtol=1e-4, atol=1e-5)

  _, metrics = jax.jit(functools.partial(train_step, gan))(state, batch, jax.random.key(7))
  torch_metrics = torch_translation.TrainStep(config.model, g, d)(*torch_inputs)
  assert set(torch_metrics) == {k for k in metrics if k.startswith(("d/loss", "g/")) and
                                not k.endswith("grad_norm")}
  for key, value in torch_metrics.items():
    np.testing.assert_allclose(metrics[key], value.item(), rtol=1e-4, atol=1e-6, err_msg=key)
