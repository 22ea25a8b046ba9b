"""The Flax InceptionV3 and its loader for pytorch-fid's weights, with random weights.

The real weights cannot be downloaded here. The loader is tested on state dicts with
pytorch-fid's names and torch layouts; where pytorch-fid itself is installed (it needs
torchvision), the features are compared with its network on the same random weights.
"""

import functools
import json
import os

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import inception, trainer
from jaxgan.errors import ConfigError

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

SIZE = 75  # The smallest input InceptionV3 takes; 299 in real use.


def _state_dict_of(variables: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
  """`variables` written as a pytorch-fid state dict (names and torch layouts), with random
  BatchNorm statistics so that they matter."""
  state_dict = {}
  for path, value in flax.traverse_util.flatten_dict(variables).items():
    collection, *modules, name = path
    value = np.asarray(value)
    if name == "kernel":
      value = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
    if collection == "batch_stats":
      value = rng.uniform(0.5, 1.5, value.shape) if name == "var" else rng.normal(
          0, 0.1, value.shape)
    torch_name = {"kernel": "weight", "scale": "weight", "bias": "bias",
                  "mean": "running_mean", "var": "running_var"}[name]
    state_dict[".".join([*modules, torch_name])] = value.astype(np.float32)
    if torch_name == "running_var":
      state_dict[".".join([*modules, "num_batches_tracked"])] = np.array(0)
  return state_dict


@pytest.fixture(scope="module")
def random_state_dict() -> dict[str, np.ndarray]:
  variables = jax.jit(inception.InceptionV3(SIZE).init)(jax.random.key(0),
                                                         jnp.zeros((1, SIZE, SIZE, 3)))
  return _state_dict_of(variables, np.random.default_rng(0))


def test_state_dict_round_trip_and_features(random_state_dict, tmp_path):
  assert len([k for k in random_state_dict if k.endswith(".conv.weight")]) == 94
  variables = inception.variables_from_state_dict(random_state_dict)
  np.testing.assert_array_equal(variables["params"]["Mixed_6b"]["branch7x7_2"]["conv"]["kernel"],
                                random_state_dict["Mixed_6b.branch7x7_2.conv.weight"]
                                .transpose(2, 3, 1, 0))
  np.savez(tmp_path / "weights.npz", **random_state_dict)
  extractor = inception.InceptionFeatures(inception.load(str(tmp_path / "weights.npz")), SIZE)
  images = np.random.default_rng(1).uniform(-1, 1, (3, 16, 16, 1)).astype(np.float32)
  features, probs = extractor.embed(images, batch_size=2)
  assert features.shape == (3, 2048) and probs.shape == (3, 1008)
  assert np.all(features >= 0)  # Means of ReLU outputs.
  np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
  assert not np.allclose(features[0], features[1])
  again, _ = extractor.embed(images[:1])
  np.testing.assert_allclose(again[0], features[0], rtol=1e-5, atol=1e-6)


def test_wrong_weights_are_refused_with_what_is_wrong(random_state_dict):
  broken = dict(random_state_dict)
  del broken["Mixed_7c.branch_pool.conv.weight"]
  broken["AuxLogits.fc.weight"] = np.zeros((1000, 768), np.float32)
  broken["fc.weight"] = np.zeros((1000, 2048), np.float32)
  with pytest.raises(ValueError, match=r"not pytorch-fid's InceptionV3 weights.*1 missing "
                     r"\['params.Mixed_7c.branch_pool.conv.kernel'\].*1 unexpected.*AuxLogits"
                     r".*1 of the wrong shape \['params.fc.kernel \(2048, 1000\)"):
    inception.variables_from_state_dict(broken)


def test_pth_files_load_through_torch_and_convert_to_npz(random_state_dict, tmp_path):
  torch = pytest.importorskip("torch")
  torch.save({k: torch.from_numpy(np.asarray(v)) for k, v in random_state_dict.items()},
             tmp_path / "weights.pth")
  inception.main(["inception", str(tmp_path / "weights.pth"), str(tmp_path / "weights.npz")])
  from_pth = inception.load(str(tmp_path / "weights.pth"))
  from_npz = inception.load(str(tmp_path / "weights.npz"))
  jax.tree.map(np.testing.assert_array_equal, from_pth, from_npz)


def test_features_equal_pytorch_fid_on_the_same_weights(random_state_dict, monkeypatch):
  """Against pytorch-fid's own network (installed with torchvision only where asked for:
  `pip install pytorch-fid`), at the standard 299x299."""
  torch = pytest.importorskip("torch")
  fid_inception = pytest.importorskip("pytorch_fid.inception")
  monkeypatch.setattr(fid_inception, "load_state_dict_from_url", lambda *a, **k: {
      k: torch.from_numpy(np.asarray(v)) for k, v in random_state_dict.items()})
  torch_model = fid_inception.InceptionV3().eval()
  images = np.random.default_rng(2).uniform(0, 1, (2, 3, 32, 32)).astype(np.float32)
  with torch.no_grad():
    expected = torch_model(torch.from_numpy(images))[0][:, :, 0, 0].numpy()
  variables = inception.variables_from_state_dict(random_state_dict)
  ours, _ = inception.InceptionFeatures(variables).embed(images.transpose(0, 2, 3, 1) * 2 - 1)
  np.testing.assert_allclose(ours, expected, rtol=1e-3, atol=1e-4)


def test_missing_torch_names_the_conversion(tmp_path, monkeypatch):
  monkeypatch.setitem(__import__("sys").modules, "torch", None)
  path = os.path.join(tmp_path, "weights.pth")
  with pytest.raises(ImportError, match="needs torch.*python -m jaxgan.inception"):
    inception.read_state_dict(path)


def test_training_evaluates_in_inception_features(digits_config, random_state_dict, tmp_path,
                                                  monkeypatch):
  np.savez(tmp_path / "weights.npz", **random_state_dict)
  monkeypatch.setattr(inception, "InceptionFeatures",
                      functools.partial(inception.InceptionFeatures, input_size=SIZE))
  digits_config.eval_features = "inception"
  digits_config.eval_inception_weights = str(tmp_path / "weights.npz")
  digits_config.eval_every_steps = 4
  digits_config.eval_num_samples = 50
  trainer.train_and_evaluate(digits_config, str(tmp_path / "run"))
  last = json.loads(open(tmp_path / "run" / "metrics.jsonl").readlines()[-1])
  assert np.isfinite(last["eval/fid"]) and last["eval/fid"] > 0
  assert last["eval/inception_score"] >= 1.0
  assert "eval/classifier_score" not in last and "eval/classes_covered" not in last


@pytest.mark.parametrize("features, weights, message", [
    ("inception", "", "needs pytorch-fid's InceptionV3 weights on disk.*Download https://"),
    ("vgg", "", "Unknown eval_features 'vgg'. Known: classifier, inception"),
])
def test_bad_feature_settings_are_config_errors(digits_config, tmp_path, features, weights,
                                                message):
  digits_config.eval_features = features
  digits_config.eval_inception_weights = weights
  with pytest.raises(ConfigError, match=message):
    trainer.train_and_evaluate(digits_config, str(tmp_path))
