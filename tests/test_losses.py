import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from jaxgan import losses

REAL = np.array([2.0, -1.0, 0.5], np.float32)
FAKE = np.array([-3.0, 0.25, 1.5], np.float32)


def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("name", ["minimax", "non_saturating"])
def test_discriminator_loss_is_summed_cross_entropy(name):
  loss = losses.get(name, real_label=0.9)
  expected = (np.mean(-(0.9 * np.log(_sigmoid(REAL)) + 0.1 * np.log(1 - _sigmoid(REAL))))
              + np.mean(-np.log(1 - _sigmoid(FAKE))))
  np.testing.assert_allclose(loss.discriminator(REAL, FAKE), expected, rtol=1e-6)


def test_generator_losses_match_their_formulas():
  np.testing.assert_allclose(losses.get("minimax").generator(FAKE),
                             np.mean(np.log(1 - _sigmoid(FAKE))), rtol=1e-6)
  np.testing.assert_allclose(losses.get("non_saturating").generator(FAKE),
                             np.mean(-np.log(_sigmoid(FAKE))), rtol=1e-6)


@pytest.mark.parametrize("name", ["minimax", "non_saturating"])
def test_extreme_logits_give_finite_values_and_gradients(name):
  loss = losses.get(name, real_label=0.9)
  logits = jnp.array([1e9, -1e9, 0.0])
  fns = [lambda x: loss.discriminator(x, -x), lambda x: loss.discriminator(-x, x), loss.generator]
  for fn in fns:
    value, grad = jax.jit(jax.value_and_grad(fn))(logits)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_minimax_generator_saturates_where_non_saturating_does_not():
  # A confident D (fake logit -10): the minimax gradient vanishes, the other does not.
  fake = jnp.array([-10.0])
  minimax_grad = jax.grad(losses.get("minimax").generator)(fake)
  non_saturating_grad = jax.grad(losses.get("non_saturating").generator)(fake)
  assert abs(minimax_grad[0]) < 1e-4 < 0.9 < abs(non_saturating_grad[0])


def test_unknown_loss_lists_the_known_ones():
  with pytest.raises(ValueError, match="Unknown loss 'nope'. Known: .*minimax.*non_saturating"):
    losses.get("nope")
  with pytest.raises(ValueError, match="Unknown loss 'hnge'. Did you mean 'hinge'"):
    losses.get("hnge")


def test_bad_label_and_bad_argument_are_clear_errors():
  with pytest.raises(ValueError, match="real_label must be in"):
    losses.get("minimax", real_label=1.5)
  with pytest.raises(ValueError, match="Loss 'minimax' takes no argument 'temperature'. It "
                                       "takes: real_label"):
    losses.get("minimax", temperature=2.0)
  with pytest.raises(ValueError, match="no argument 'real_lable'. Did you mean 'real_label'"):
    losses.get("non_saturating", real_lable=0.9)


def my_loss(*, margin: float = 1.0) -> losses.GANLoss:
  """A user's loss defined outside jaxgan (hinge, with a margin)."""
  return losses.GANLoss(
      discriminator=lambda r, f: (jnp.mean(jax.nn.relu(margin - r))
                                  + jnp.mean(jax.nn.relu(margin + f))),
      generator=lambda f: -jnp.mean(f))


def test_user_loss_by_module_path():
  loss = losses.get("tests.test_losses:my_loss", margin=2.0)
  np.testing.assert_allclose(loss.discriminator(REAL, FAKE),
                             np.mean(np.maximum(0, 2 - REAL)) + np.mean(np.maximum(0, 2 + FAKE)))
  with pytest.raises(ValueError, match="has no attribute 'missing'"):
    losses.get("tests.test_losses:missing")


def _np_bce(logits, label):
  return -(label * np.log(_sigmoid(logits)) + (1 - label) * np.log(1 - _sigmoid(logits)))


EXPECTED = {  # name -> (kwargs, D loss, G loss), written from the papers' formulas.
    "wasserstein": ({}, np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)),
    "hinge": ({}, np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)),
              -np.mean(FAKE)),
    "least_squares": ({"a": -1.0, "b": 1.0, "c": 0.0},
                      0.5 * np.mean((REAL - 1) ** 2) + 0.5 * np.mean((FAKE + 1) ** 2),
                      0.5 * np.mean(FAKE ** 2)),
    "relativistic_average": (
        {}, np.mean(_np_bce(REAL - FAKE.mean(), 1)) + np.mean(_np_bce(FAKE - REAL.mean(), 0)),
        np.mean(_np_bce(FAKE - REAL.mean(), 1)) + np.mean(_np_bce(REAL - FAKE.mean(), 0))),
}
EXPECTED["no_adversary"] = ({}, np.mean(_np_bce(REAL, 1)) + np.mean(_np_bce(FAKE, 0)), 0.0)
EXPECTED["relativistic_average_ls"] = (
    {"form": "least_squares"},
    np.mean((REAL - FAKE.mean() - 1) ** 2) + np.mean((FAKE - REAL.mean() + 1) ** 2),
    np.mean((FAKE - REAL.mean() - 1) ** 2) + np.mean((REAL - FAKE.mean() + 1) ** 2))


def _generator_value(loss, fake, real):
  return loss.generator(fake, real) if loss.generator_uses_real else loss.generator(fake)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_loss_values_against_the_papers(key):
  kwargs, d_expected, g_expected = EXPECTED[key]
  loss = losses.get(key.removesuffix("_ls"), **kwargs)
  d_value = jax.jit(loss.discriminator)(REAL, FAKE)
  g_value = jax.jit(lambda f, r: _generator_value(loss, f, r))(FAKE, REAL)
  np.testing.assert_allclose(d_value, d_expected, rtol=1e-5)
  np.testing.assert_allclose(g_value, g_expected, rtol=1e-5)


ALL_LOSSES = [("minimax", {}), ("non_saturating", {"real_label": 0.9}), ("wasserstein", {}),
              ("hinge", {}), ("least_squares", {}), ("relativistic_average", {}),
              ("relativistic_average", {"form": "least_squares"}), ("no_adversary", {})]


def test_every_registered_loss_is_covered():
  assert {name for name, _ in ALL_LOSSES} == set(losses.LOSSES.names())


@pytest.mark.parametrize("name,kwargs", ALL_LOSSES)
def test_every_loss_is_finite_at_extreme_logits_and_has_correct_gradients(name, kwargs):
  loss = losses.get(name, **kwargs)
  extreme = jnp.array([1e9, -1e9, 0.0])
  d_fn = lambda r, f: loss.discriminator(r, f)  # noqa: E731
  g_fn = lambda f, r: _generator_value(loss, f, r)  # noqa: E731
  for fn in (d_fn, g_fn):
    for args in ((extreme, -extreme), (-extreme, extreme)):
      if name == "least_squares":  # Quadratic: finite only up to sqrt(float max).
        args = tuple(a * 1e-10 for a in args)
      value, grads = jax.jit(jax.value_and_grad(fn, (0, 1)))(*args)
      assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads), (fn, args)
    jax.test_util.check_grads(fn, (jnp.asarray(REAL), jnp.asarray(FAKE)), order=2,
                              modes=["rev"], atol=1e-2, rtol=1e-2)


def test_auxiliary_classifier_loss():
  logits = np.array([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3]], np.float32)
  labels = np.array([0, 2])
  log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
  np.testing.assert_allclose(losses.auxiliary_classifier_loss(logits, labels),
                             -np.mean(log_probs[[0, 1], labels]), rtol=1e-6)


def test_unknown_relativistic_form():
  with pytest.raises(ValueError, match="Unknown relativistic form 'hinge'"):
    losses.get("relativistic_average", form="hinge")


def test_which_losses_read_d_as_logits():
  """`outputs_are_logits` picks the D metrics (probabilities or a critic's scores)."""
  logits = {name for name, kwargs in ALL_LOSSES if losses.get(name, **kwargs).outputs_are_logits}
  assert logits == {"minimax", "non_saturating", "no_adversary"}


@pytest.mark.parametrize("name", ["minimax", "non_saturating"])
def test_real_label_must_be_a_probability_above_zero(name):
  for bad in (0.0, 1.1, -0.5):
    with pytest.raises(ValueError, match=rf"real_label must be in \(0, 1\], got {bad}"):
      losses.get(name, real_label=bad)
  assert losses.get(name, real_label=1.0).outputs_are_logits


def test_least_squares_defaults_and_every_target():
  """Mao et al.'s 0-1 coding by default: fakes to 0, reals to 1, G asks for 1."""
  loss = losses.get("least_squares")
  np.testing.assert_allclose(loss.discriminator(REAL, FAKE), 0.5 * np.mean((REAL - 1) ** 2)
                             + 0.5 * np.mean(FAKE ** 2), rtol=1e-6)
  np.testing.assert_allclose(loss.generator(FAKE), 0.5 * np.mean((FAKE - 1) ** 2), rtol=1e-6)
  np.testing.assert_allclose(losses.least_squares_discriminator_loss(REAL, FAKE),
                             loss.discriminator(REAL, FAKE), rtol=1e-6)  # The same defaults.
  np.testing.assert_allclose(losses.least_squares_generator_loss(FAKE), loss.generator(FAKE),
                             rtol=1e-6)
  shifted = losses.get("least_squares", a=0.5, b=2.0, c=3.0)
  np.testing.assert_allclose(shifted.discriminator(REAL, FAKE), 0.5 * np.mean((REAL - 2) ** 2)
                             + 0.5 * np.mean((FAKE - 0.5) ** 2), rtol=1e-6)
  np.testing.assert_allclose(shifted.generator(FAKE), 0.5 * np.mean((FAKE - 3) ** 2), rtol=1e-6)


def test_relativistic_functions_default_to_the_standard_form():
  standard = losses.get("relativistic_average")
  np.testing.assert_allclose(losses.relativistic_average_discriminator_loss(REAL, FAKE),
                             standard.discriminator(REAL, FAKE), rtol=1e-6)
  np.testing.assert_allclose(losses.relativistic_average_generator_loss(FAKE, REAL),
                             standard.generator(FAKE, REAL), rtol=1e-6)


FIXED = losses.GANLoss(losses.hinge_discriminator_loss, losses.critic_generator_loss)


def not_a_loss(**kwargs):
  del kwargs
  return 1.0


def test_losses_that_cannot_be_built_say_why(monkeypatch):
  monkeypatch.setitem(losses.LOSSES._entries, "fixed_for_test", FIXED)
  monkeypatch.setitem(losses.LOSSES._entries, "number_for_test", 3)
  assert losses.get("fixed_for_test") is FIXED
  with pytest.raises(ValueError, match=r"Loss 'fixed_for_test' is a fixed GANLoss and takes "
                                       r"no arguments; got \{'margin': 1\}"):
    losses.get("fixed_for_test", margin=1)
  with pytest.raises(ValueError, match="Loss 'number_for_test' must be a GANLoss or a "
                                       "function returning one, got int"):
    losses.get("number_for_test")
  with pytest.raises(ValueError, match=r"Loss factory 'tests.test_losses:not_a_loss' must "
                                       r"return a jaxgan.losses.GANLoss, got float"):
    losses.get("tests.test_losses:not_a_loss")
  with pytest.raises(ValueError, match="Known: standard, least_squares"):
    losses.get("relativistic_average", form="hinge")
