"""Every config in configs/ trains 2 steps offline at batch 8, or, where its data is not
prepared here, stops with the clear error that says how to prepare it."""

import glob
import os

import pytest

from jaxgan import command_line, trainer
from jaxgan.errors import ConfigError

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
                 if not p.endswith("__init__.py"))
OFFLINE = ("sklearn_digits", "ring8", "grid25", "english_words", "statsmodels:anes96",
           "spoken_digits")
# What the fixed samples are written as besides their picture: strings, table rows, clips.
WRITTEN = {"english_words": [".png", ".txt"], "statsmodels:anes96": [".csv", ".png"],
           "spoken_digits": [".png", ".wav"]}


@pytest.mark.parametrize("name", CONFIGS)
def test_config_trains_two_steps_or_says_how_to_get_its_data(name, data_dir, tmp_path):
  config = command_line.load_config_file(os.path.join(ROOT, "configs", name))
  config.num_train_steps, config.batch_size, config.eval_every_steps = 2, 8, 0
  config.num_devices = 1
  config.data_dir = data_dir
  if config.dataset not in OFFLINE:
    with pytest.raises(ConfigError, match=f"Dataset '{config.dataset}' is not prepared"):
      trainer.train_and_evaluate(config, str(tmp_path))
    return
  state = trainer.train_and_evaluate(config, str(tmp_path))
  assert int(state.step) == 2
  kinds = WRITTEN.get(config.dataset, [".png"])
  ema = ["ema_step_0000002"] if config.g_ema_decay else []  # The EMA generator's too.
  assert sorted(os.listdir(tmp_path / "samples")) == [
      name + kind for name in ema + ["step_0000002"] for kind in kinds]
