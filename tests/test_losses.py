import jax
import jax.numpy as jnp
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
  with pytest.raises(ValueError, match="Unknown loss 'nope'.*minimax.*non_saturating"):
    losses.get("nope")


def test_bad_label_and_bad_argument_are_clear_errors():
  with pytest.raises(ValueError, match="real_label must be in"):
    losses.get("minimax", real_label=1.5)
  with pytest.raises(ValueError, match="does not accept arguments"):
    losses.get("minimax", temperature=2.0)


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
