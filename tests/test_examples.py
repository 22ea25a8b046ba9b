"""The runnable examples, on tiny settings."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # Subprocesses or long runs: not in `make test-fast`.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_custom_loss_example_trains(tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "examples", "custom_loss.py"), "--steps", "3",
       "--eval_every_steps", "0", "--workdir", str(tmp_path)],
      capture_output=True, text=True, timeout=300,
      env={**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds")})
  assert result.returncode == 0, result.stderr
  assert "step 3/3" in result.stderr
  assert sorted(os.listdir(tmp_path / "samples"))[-1] == "step_0000003.png"
