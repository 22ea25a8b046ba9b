"""pix2pix and CycleGAN: the parameter counts of the authors' code, the networks, the
translation terms and their gradients through the unchanged step, the data layouts, the
derived tasks, the metrics and the pictures."""

import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import jaxgan
from configs import cyclegan_digits_thick, pix2pix_digits_edges, pix2pix_digits_inpaint
from jaxgan import evaluate, image_pairs, losses, trainer, translation
from jaxgan.errors import ConfigError, DataError
from jaxgan.models import cyclegan, pix2pix
from jaxgan.state import GAN, Player, Translation, init_state
from jaxgan.step import train_step
from jaxgan.tasks import translation as translation_task

RNGS = {"params": jax.random.key(0), "noise": jax.random.key(1)}


def _count(tree) -> int:
  return sum(x.size for x in jax.tree.leaves(tree))


# Parameters of junyanz/pytorch-CycleGAN-and-pix2pix's models/networks.py for its default
# options, `sum(p.numel() for p in net.parameters())`, as its training prints them:
# pix2pix `define_G(3, 3, 64, "unet_256", norm="batch", use_dropout=True)` and
# `define_D(6, 64, "basic", norm="batch")`; CycleGAN `define_G(3, 3, 64, "resnet_9blocks",
# norm="instance")` and `define_D(3, 64, "basic", norm="instance")`, one of each pair.
PIX2PIX_G, PIX2PIX_D = 54_413_955, 2_768_705
CYCLEGAN_G, CYCLEGAN_D = 11_378_179, 2_764_737


def test_pix2pix_parameter_counts_equal_the_authors():
  images = jnp.zeros((1, 256, 256, 3))
  g = jax.eval_shape(lambda: pix2pix.UNetGenerator((256, 256, 3)).init(
      RNGS, jnp.zeros((1, 1)), images, train=False))
  d = jax.eval_shape(lambda: pix2pix.PatchDiscriminator().init(RNGS, images, images,
                                                               train=False))
  assert (_count(g["params"]), _count(d["params"])) == (PIX2PIX_G, PIX2PIX_D)


def test_cyclegan_parameter_counts_equal_the_authors():
  both = jnp.zeros((1, 2, 256, 256, 3))
  g = jax.eval_shape(lambda: cyclegan.CycleGenerator((2, 256, 256, 3)).init(
      RNGS, jnp.zeros((1, 1)), both, train=False))["params"]
  d = jax.eval_shape(lambda: cyclegan.CycleDiscriminator().init(RNGS, both,
                                                                train=False))["params"]
  assert [_count(g[name]) for name in ("a_to_b", "b_to_a")] == [CYCLEGAN_G] * 2
  assert [_count(d[name]) for name in ("judge_a", "judge_b")] == [CYCLEGAN_D] * 2
  assert (_count(g), _count(d)) == (2 * CYCLEGAN_G, 2 * CYCLEGAN_D)


def test_unet_shapes_dropout_noise_and_skips():
  unet = pix2pix.UNetGenerator((16, 16, 3), features=8, dropout_blocks=2)
  sources = jax.random.normal(jax.random.key(2), (2, 16, 16, 1))
  variables = unet.init(RNGS, jnp.zeros((2, 1)), sources, train=False)
  run = jax.jit(lambda key, x=sources: unet.apply(  # noqa: E731
      variables, jnp.zeros((2, 1)), x, train=False, rngs={"noise": key}))
  out = run(jax.random.key(3))
  assert out.shape == (2, 16, 16, 3) and float(jnp.max(jnp.abs(out))) <= 1.0
  np.testing.assert_array_equal(out, run(jax.random.key(3)))  # Same noise, same output.
  assert not np.allclose(out, run(jax.random.key(4)))  # Dropout is G's noise.
  # Every output pixel depends on the source: the skips carry it at every scale.
  grads = jax.grad(lambda x: run(jax.random.key(3), x)[0, 8, 8].sum())(sources)
  assert float(jnp.abs(grads[0]).max()) > 0 and float(jnp.abs(grads[1]).max()) == 0
  without_dropout = jax.jit(lambda key: pix2pix.UNetGenerator(  # noqa: E731
      (16, 16, 3), features=8, dropout_blocks=0).apply(
          variables, jnp.zeros((2, 1)), sources, train=False, rngs={"noise": key}))
  np.testing.assert_array_equal(without_dropout(jax.random.key(4)),
                                without_dropout(jax.random.key(5)))


def test_patch_discriminator_judges_patches_of_pairs_and_says_when_too_deep():
  d = pix2pix.PatchDiscriminator(8, num_layers=2)
  images, sources = jnp.zeros((3, 32, 32, 3)), jnp.ones((3, 32, 32, 1))
  variables = d.init(RNGS, images, sources, train=False)
  logits = d.apply(variables, images, sources, train=False)
  assert logits.shape == (3, pix2pix.patch_grid_size(32, 2) ** 2) == (3, 36)
  with pytest.raises(ConfigError, match="num_layers=3 has no patch left on 16x16.*at most 2"):
    pix2pix.PatchDiscriminator(8, num_layers=3).init(RNGS, jnp.zeros((1, 16, 16, 3)),
                                                     train=False)


def test_cycle_generator_translates_each_domain_with_its_own_network():
  g = cyclegan.CycleGenerator((2, 16, 16, 1), features=4, num_blocks=1)
  both = jax.random.normal(jax.random.key(2), (2, 2, 16, 16, 1))
  variables = g.init(RNGS, jnp.zeros((2, 1)), both, train=False)
  out = g.apply(variables, jnp.zeros((2, 1)), both, train=False)
  translator = cyclegan.ResNetTranslator(1, features=4, num_blocks=1)
  for index, name, source in ((0, "b_to_a", 1), (1, "a_to_b", 0)):
    alone = translator.apply({"params": variables["params"][name]}, both[:, source], train=False)
    np.testing.assert_allclose(out[:, index], alone, rtol=1e-6, atol=1e-6)


def _cycle_gan(**terms) -> GAN:
  opt = optax.adam(1e-3, b1=0.5)
  return GAN(cyclegan.CycleGenerator((2, 8, 8, 1), features=4, num_blocks=1),
             cyclegan.CycleDiscriminator(4, num_layers=1), opt, opt,
             losses.get("least_squares"), latent_dim=1, schedule="simultaneous",
             translation=Translation(False, terms=tuple(
                 translation.Term(name, getattr(translation, name), weight)
                 for name, weight in terms.items())))


def test_the_step_gives_g_the_gradient_of_its_whole_loss_through_every_pass():
  """CycleGAN's G loss, written out as one function of G's parameters (adversarial + cycle +
  identity), has the gradient whose norm the step reports: the terms reach G both through
  its translation of the batch and through its other passes."""
  gan = _cycle_gan(cycle=5.0, identity=2.5)
  state = init_state(gan, jax.random.key(0), (2, 8, 8, 1))
  batch = jax.random.uniform(jax.random.key(1), (4, 2, 8, 8, 1), minval=-1, maxval=1)
  _, metrics = jax.jit(functools.partial(train_step, gan))(state, batch, jax.random.key(2))

  def g_loss(params):
    translate = lambda x: gan.generator.apply({"params": params}, jnp.zeros((4, 1)), x)  # noqa: E731
    fake = translate(batch)
    logits = gan.discriminator.apply({"params": state.d.params}, fake)
    return (gan.loss.generator(logits) + 5.0 * translation.cycle(translate, fake, batch, batch)
            + 2.5 * translation.identity(translate, fake, batch, batch))

  expected = optax.tree.norm(jax.jit(jax.grad(g_loss))(state.g.params))
  np.testing.assert_allclose(metrics["g/grad_norm"], expected, rtol=1e-4)
  without_terms = _cycle_gan()
  _, plain = jax.jit(functools.partial(train_step, without_terms))(state, batch,
                                                                   jax.random.key(2))
  assert abs(float(plain["g/grad_norm"]) - float(expected)) > 1e-3 * float(expected)


def test_translation_terms():
  real = jnp.zeros((2, 2, 4, 4, 1))
  sources = jnp.stack([jnp.zeros((2, 4, 4, 1)), jnp.ones((2, 4, 4, 1))], axis=1)
  swap = lambda x: translation.swap_domains(x)  # noqa: E731  A perfect swapper of domains.
  assert float(translation.l1(None, real + 1.5, real + 1.0, None)) == 0.5
  assert float(translation.cycle(swap, swap(sources), real, sources)) == 0.0
  assert float(translation.cycle(lambda x: x, swap(sources), real, sources)) == 1.0
  assert float(translation.identity(lambda x: x, None, real, sources)) == 1.0
  assert float(translation.identity(swap, None, real, sources)) == 0.0
  with pytest.raises(ConfigError, match="needs 'weight'"):
    translation.build_term({"name": "l1"})
  with pytest.raises(ConfigError, match="Unknown translation term 'cycl'.*cycle"):
    translation.build_term({"name": "cycl", "weight": 1.0})


def scaled_l1(translate, fake, real, sources, *, scale: float = 1.0):
  """A user's translation term outside jaxgan."""
  return scale * translation.l1(translate, fake, real, sources)


def test_terms_built_from_config_entries():
  fake, real = jnp.full((2, 4, 4, 1), 0.25), jnp.zeros((2, 4, 4, 1))
  term = translation.build_term({"name": "l1", "weight": 100.0})
  assert (term.name, term.weight) == ("l1", 100.0)
  assert float(term.fn(None, fake, real, None)) == 0.25
  assert translation.build_term({"name": "cycle", "weight": 0.0}).weight == 0.0
  assert translation.build_term({"name": "identity", "weight": 0.5}).weight == 0.5
  mine = translation.build_term({"name": "tests.test_translation:scaled_l1", "weight": 2.0,
                                 "scale": 4.0})
  assert mine.name == "scaled_l1" and float(mine.fn(None, fake, real, None)) == 1.0
  with pytest.raises(ConfigError, match="Translation term 'l1' needs weight >= 0, got -1"):
    translation.build_term({"name": "l1", "weight": -1})
  with pytest.raises(ConfigError, match="Translation term 'l1' takes no argument 'scale'"):
    translation.build_term({"name": "l1", "weight": 1.0, "scale": 2.0})


def test_linear_decay_after_a_constant_half():
  config = ml_collections.ConfigDict({"name": "sgd", "learning_rate": 1.0, "decay": "linear",
                                      "decay_start": 0.5})
  optimizer = trainer.build_optimizer(config, num_updates=100)
  params = jnp.zeros(())
  state = optimizer.init(params)
  steps = []
  for _ in range(100):
    update, state = optimizer.update(jnp.ones(()), state, params)
    steps.append(-float(update))
  np.testing.assert_allclose(steps[:50], 1.0)
  np.testing.assert_allclose(steps[50:], np.linspace(1.0, 0.0, 51)[:-1], atol=1e-6)
  with pytest.raises(ConfigError, match="decay_start"):
    trainer.build_optimizer(ml_collections.ConfigDict({**config, "decay_start": 1.0}), 10)


def test_derived_sources_are_deterministic_and_local():
  images = np.zeros((3, 16, 16, 1), np.uint8)
  images[:, 4:12, 6:10] = 255
  edges = image_pairs.edges(images, np.arange(3))
  assert edges[0, 8, 6, 0] == 255 and edges[0, 8, 8, 0] == 0 and edges[0, 0, 0, 0] == 0
  masked = image_pairs.masked(images, np.array([5, 5, 6]))
  np.testing.assert_array_equal(masked[0], masked[1])  # The place is fixed per image.
  assert (masked[0] == 128).sum() == 8 * 8 and not np.array_equal(masked[0], masked[2])
  blurred = image_pairs.blurred(images, np.arange(3))
  assert blurred.mean() == pytest.approx(images.mean(), abs=1) and blurred[0, 4, 6, 0] < 255
  thick = image_pairs.thickened(images, np.arange(3))
  assert thick[0, 8, 5, 0] == 255 and thick[0, 8, 4, 0] == 0 and thick[0, 3, 6, 0] == 255


def _save(path, pixels):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(pixels).save(path)


def _translation_config(dataset, data_dir, **task_kwargs):
  config = pix2pix_digits_edges.get_config()
  config.dataset, config.image_size, config.data_dir = str(dataset), 8, str(data_dir)
  config.task_kwargs = ml_collections.ConfigDict(task_kwargs)
  return config


def _colour(seed):
  return np.random.default_rng(seed).integers(0, 256, (8, 8, 3), np.uint8)


def _is(images, pixels) -> bool:
  """Whether model-range `images` are uint8 `pixels`."""
  return np.allclose(images, pixels / 127.5 - 1, atol=1e-6)


def test_side_by_side_and_two_folder_pairs_stay_aligned(tmp_path):
  for i in range(3):
    _save(str(tmp_path / "sbs" / "train" / f"{i}.png"),
          np.concatenate([_colour(i), _colour(10 + i)], axis=1))
    _save(str(tmp_path / "two" / "trainA" / f"{i}.png"), _colour(i))
    _save(str(tmp_path / "two" / "trainB" / f"{i}.png"), _colour(10 + i))
  (tmp_path / "two" / "trainA" / "3.png").write_bytes(b"not an image")  # Drops its pair.
  _save(str(tmp_path / "two" / "trainB" / "3.png"), _colour(3))
  for layout in ("sbs", "two"):
    task = translation_task.build(_translation_config(tmp_path / layout, tmp_path / "tfds"))
    assert task.spec.translation == "paired" and task.spec.shape == (8, 8, 3)
    targets, sources = task.dataset.batch(0, 6)
    for target, source in zip(targets, sources):
      i = [k for k in range(3) if _is(source, _colour(k))]
      assert len(i) == 1 and _is(target, _colour(10 + i[0]))
  swapped = translation_task.build(_translation_config(tmp_path / "sbs", tmp_path / "tfds",
                                                       direction="BtoA"))
  targets, sources = swapped.dataset.batch(0, 3)
  assert all(any(_is(target, _colour(k)) for k in range(3)) for target in targets)
  (tmp_path / "two" / "trainB" / "9.png").write_bytes(b"")
  with pytest.raises(DataError, match="same names.*9.png.*paired=False"):
    translation_task.build(_translation_config(tmp_path / "two", tmp_path / "tfds"))


def test_unpaired_folders_give_both_domains(tmp_path):
  for i in range(3):
    _save(str(tmp_path / "d" / "trainA" / f"a{i}.png"), np.full((8, 8, 3), 10, np.uint8))
  for i in range(5):
    _save(str(tmp_path / "d" / "trainB" / f"b{i}.png"), np.full((8, 8, 3), 250, np.uint8))
  task = translation_task.build(_translation_config(tmp_path / "d", tmp_path / "tfds",
                                                    paired=False))
  assert task.spec.translation == "unpaired" and task.spec.shape == (2, 8, 8, 3)
  batch = task.dataset.batch(0, 5)
  assert batch.shape == (5, 2, 8, 8, 3)
  assert np.all(batch[:, 0] < -0.9) and np.all(batch[:, 1] > 0.9)
  with pytest.raises(DataError, match="no unpaired training images.*trainA/ and trainB/"):
    translation_task.build(_translation_config(tmp_path, tmp_path / "tfds", paired=False))


class _ExamplesOfSplit:
  """A tfds data source of a split of `cycle_gan`: domain A's images dark, B's light, test
  splits of 3 examples."""

  def __init__(self, split, **kwargs):
    del kwargs
    value = 10 if split.endswith("A") else 245
    self.examples = [{"image": np.full((12, 10, 3), value, np.uint8), "label": 0}
                     for _ in range(3 if split.startswith("test") else 5)]

  def __len__(self) -> int:
    return len(self.examples)

  def __getitems__(self, keys):
    return [self.examples[key] for key in keys]


def test_tfds_cycle_gan_is_read_through_its_splits(tmp_path):
  """tfds' `cycle_gan/horse2zebra` (splits trainA, trainB, testA, testB) through the same
  builder, reading and preparation as a downloaded copy: its metadata written here, its
  examples given through tfds' mock data."""
  builder = tfds.builder("cycle_gan/horse2zebra", data_dir=str(tmp_path),
                         file_format="array_record")
  builder.info.set_splits(tfds.core.SplitDict([
      tfds.core.SplitInfo(name=split, shard_lengths=[5], num_bytes=0, filename_template=None)
      for split in ("trainA", "trainB", "testA", "testB")]))
  metadata = tmp_path / "cycle_gan" / "horse2zebra" / str(builder.version)
  metadata.mkdir(parents=True)
  builder.info.write_to_directory(str(metadata))
  config = cyclegan_digits_thick.get_config()
  config.dataset, config.image_size, config.data_dir = "cycle_gan/horse2zebra", 8, str(tmp_path)
  config.task_kwargs = ml_collections.ConfigDict()
  with tfds.testing.mock_data(data_dir=str(tmp_path), as_data_source_fn=_ExamplesOfSplit):
    task = translation_task.build(config)
  assert task.spec == translation_task.DataSpec((2, 8, 8, 3), translation="unpaired")
  batch = task.dataset.batch(0, 4)
  assert batch.shape == (4, 2, 8, 8, 3)
  assert np.all(batch[:, 0] < -0.9) and np.all(batch[:, 1] > 0.9)  # trainA dark, trainB light.
  assert task.reference.shape == (3, 2, 8, 8, 3)  # The test splits.


@pytest.fixture(scope="module")
def digits_edges(tmp_path_factory):
  config = pix2pix_digits_edges.get_config()
  config.image_size = 16
  config.data_dir = str(tmp_path_factory.mktemp("tfds"))
  return translation_task.build(config)


def test_derived_digits_task_pairs_each_digit_with_its_edges(digits_edges):
  targets, sources = digits_edges.dataset.batch(0, 4)
  assert targets.shape == sources.shape == (4, 16, 16, 1)
  uint8 = np.round((targets + 1) * 127.5).astype(np.uint8)
  np.testing.assert_allclose(sources, image_pairs.edges(uint8, None) / 127.5 - 1, atol=1e-6)
  assert digits_edges.reference.shape == (360, 2, 16, 16, 1)  # The test split.


def test_paired_metrics_of_a_perfect_and_an_imperfect_translation(digits_edges):
  targets = digits_edges.reference[:20, 1]
  perfect = translation_task._paired_metrics(targets, targets)
  assert perfect["l1"] == 0 and perfect["ssim"] == pytest.approx(1.0)
  noisy = np.clip(targets + 0.5 * np.random.default_rng(0).normal(size=targets.shape), -1, 1)
  measured = translation_task._paired_metrics(noisy, targets)
  assert 0.1 < measured["l1"] < 0.5 and 5 < measured["psnr"] < 25 and measured["ssim"] < 0.8


def test_pictures_show_source_output_and_target_rows(digits_edges):
  shown = digits_edges.reference[:4, 1]
  picture = digits_edges.picture(shown, None)
  assert picture.ndim == 3 and picture.shape[1] > 2.5 * picture.shape[0] / 4


@pytest.mark.slow
@pytest.mark.parametrize("config_module,metrics,pictures", [
    (pix2pix_digits_inpaint, {"eval/l1", "eval/psnr", "eval/ssim", "eval/fd_classifier"},
     ["samples.png"]),
    (cyclegan_digits_thick, {"eval/cycle_l1", "eval/fd_classifier_to_a",
                             "eval/fd_classifier_to_b", "eval/fd_classifier"},
     ["cycle.png", "samples.png"]),
])
def test_offline_configs_train_evaluate_and_draw_rows(config_module, metrics, pictures,
                                                      data_dir, cache_dir, tmp_path):
  config = config_module.get_config()
  config.data_dir, config.eval_cache_dir, config.image_size = data_dir, cache_dir, 16
  config.generator.features = config.discriminator.features = 8
  if config.model == "cyclegan":
    config.generator.num_blocks = 1
  config.batch_size, config.num_train_steps, config.num_devices = 8, 4, 1
  config.eval_every_steps = config.sample_every_steps = 4
  config.eval_num_samples, config.num_samples = 40, 4
  workdir = str(tmp_path / "run")
  trainer.train_and_evaluate(config, workdir)
  rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
  assert metrics <= set(rows[-1]) and all(np.isfinite(rows[-1][name]) for name in metrics)
  row_picture = Image.open(os.path.join(workdir, "samples", "step_0000004.png"))
  assert row_picture.size[0] > 2.5 * row_picture.size[1] / 4  # Rows of 3 or 4 images.
  results = evaluate.evaluate_workdir(workdir, num_samples=30)
  assert set(results) == metrics
  out = os.path.join(workdir, "eval", "step_0000004")
  assert sorted(p for p in os.listdir(out) if p.endswith(".png")) == pictures

  # The trained generator as an object: it translates uint8 images as training's G does.
  g = jaxgan.load(workdir)
  task = translation_task.build(config)
  examples = np.round((task.reference[:5] + 1) * 127.5).astype(np.uint8)
  with pytest.raises(ValueError, match="translate"):
    g.sample(2)
  translated = g.translate(examples[:, 0])  # pix2pix: the sources; CycleGAN: domain A.
  assert translated.dtype == np.uint8 and translated.shape == (5, 16, 16, 1)
  np.testing.assert_array_equal(translated, g.translate(examples[:, 0]))
  if config.model == "cyclegan":  # No noise: G(a) as the evaluation computes it.
    gan = trainer.build_gan(config, task.spec)
    expected = translation_task._translate(gan, Player(g.params, g.batch_stats, ()),
                                           task.reference[:5])
    assert np.abs(translated.astype(int) - g.decode(expected[:, 1])).max() <= 1
    assert g.translate(examples[:, 1], direction="BtoA").shape == (5, 16, 16, 1)
  with pytest.raises(ValueError, match=r"uint8 images \[n, 16, 16, 1\]"):
    g.translate(examples[:, 0, :8])


@pytest.mark.slow
@pytest.mark.parametrize("name,counts", [
    ("pix2pix_facades.py", ["generator: 54,413,955 parameters",
                            "discriminator: 2,768,705 parameters"]),
    ("cyclegan_horse2zebra.py", ["generator: 22,756,358 parameters",
                                 "  a_to_b: 11,378,179 parameters",
                                 "  b_to_a: 11,378,179 parameters",
                                 "discriminator: 5,529,474 parameters",
                                 "  judge_a: 2,764,737 parameters",
                                 "  judge_b: 2,764,737 parameters"]),
])
def test_summary_prints_the_paper_configs_networks_without_their_data(name, counts, tmp_path):
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run(
      [sys.executable, "-m", "jaxgan.summary", "--config", os.path.join(root, "configs", name),
       f"--config.data_dir={tmp_path}", "--depth", "0"],
      capture_output=True, text=True, cwd=root, timeout=300)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert "assuming RGB images" in lines[0]
  assert lines[2:2 + len(counts)] == counts
