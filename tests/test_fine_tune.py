"""Fine-tuning: `init_from` starts from a trained G and D with fresh optimizer states at
step 0, FreezeD keeps D's first layers, and the images task keeps chosen classes."""

import jax
import numpy as np
import pytest

from jaxgan import fine_tune, tasks, trainer
from jaxgan.errors import ConfigError
from jaxgan.state import init_state


@pytest.fixture
def pretrained(digits_config, tmp_path):
  """A tiny DCGAN with an EMA generator trained 4 steps on the digits 0-4."""
  digits_config.task_kwargs = {"classes": (0, 1, 2, 3, 4)}
  digits_config.g_ema_decay = 0.9
  workdir = str(tmp_path / "pretrained")
  state = trainer.train_and_evaluate(digits_config, workdir)
  return digits_config, workdir, jax.device_get(state)


def _same(a, b) -> bool:
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_init_from_takes_the_trained_players_with_new_optimizer_states(pretrained):
  config, workdir, trained = pretrained
  config.task_kwargs = {"classes": (5, 6, 7, 8, 9), "per_class": 3}
  task = tasks.from_config(config)
  gan = trainer.build_gan(config, task.spec)
  fresh = init_state(gan, jax.random.key(1), (16, 16, 1))
  state = fine_tune.init_from(fresh, gan, workdir)
  assert int(state.step) == 0
  for player in ("g", "d", "g_ema"):
    assert _same(getattr(state, player).params, getattr(trained, player).params)
    assert _same(getattr(state, player).batch_stats, getattr(trained, player).batch_stats)
  assert _same(state.g.opt_state, fresh.g.opt_state) and _same(state.d.opt_state, fresh.d.opt_state)
  assert not _same(trained.g.opt_state, fresh.g.opt_state)  # Trained Adam moments, dropped.


def test_freeze_d_keeps_ds_first_layers_as_trained(pretrained, tmp_path):
  config, workdir, trained = pretrained
  config.task_kwargs = {"classes": (5, 6, 7, 8, 9), "per_class": 3}
  config.init_from, config.freeze_d_layers = workdir, 1
  state = jax.device_get(trainer.train_and_evaluate(config, str(tmp_path / "tuned")))
  names = list(trained.d.params)
  first, rest = names[0], names[1:]
  assert _same(state.d.params[first], trained.d.params[first])
  assert not any(_same(state.d.params[name], trained.d.params[name]) for name in rest)
  assert not _same(state.g.params, trained.g.params) and int(state.step) == 4


def test_init_from_a_different_model_names_the_arrays_that_differ(pretrained):
  config, workdir, _ = pretrained
  config.generator.features = (8, 8)
  gan = trainer.build_gan(config, tasks.from_config(config).spec)
  with pytest.raises(ConfigError, match=r"its generator's parameters differs .*Conv"):
    fine_tune.init_from(init_state(gan, jax.random.key(0), (16, 16, 1)), gan, workdir)
  with pytest.raises(ConfigError, match="init_from=.*No checkpoint"):
    fine_tune.init_from(init_state(gan, jax.random.key(0), (16, 16, 1)), gan, workdir + "x")


def test_freeze_d_layers_beyond_ds_layers_is_refused(digits_config):
  digits_config.freeze_d_layers = 9
  with pytest.raises(ConfigError, match="freeze_d_layers=9, but D has 3 layers"):
    trainer.build_gan(digits_config, tasks.from_config(digits_config).spec)


def test_the_images_task_keeps_the_chosen_classes_in_training_and_evaluation(
    digits_config, cache_dir):
  digits_config.task_kwargs = {"classes": (3, 8)}
  task = tasks.from_config(digits_config)
  labels = task.source.prepared.labels
  assert len(task.dataset.batch(0, 8)) == 8
  evaluator = task.evaluator(cache_dir)
  assert "classes 3, 8" in evaluator.describe(100)
  assert len(evaluator.real) == np.isin(labels, (3, 8)).sum()
  digits_config.conditional = True
  with pytest.raises(ConfigError, match="conditional GAN draws labels of all"):
    tasks.from_config(digits_config)
