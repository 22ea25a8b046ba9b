"""What a new user sees while installing and testing: no deprecation blocks, progress lines."""

import os
import re
import subprocess
import sys
import warnings

import pytest
from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pyproject_builds_without_deprecation_warnings():
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # setuptools' licence-table deprecation would raise here.
    distribution = apply_configuration(Distribution(), os.path.join(ROOT, "pyproject.toml"))
  assert distribution.get_name() == "jaxgan"


@pytest.mark.slow
def test_the_test_run_prints_progress_with_the_time_left():
  result = subprocess.run(
      [sys.executable, "-m", "pytest", "tests/test_metrics.py", "--progress-every=0",
       "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stdout
  lines = [line for line in result.stdout.splitlines() if line.startswith("[progress]")]
  passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
  assert lines and lines[-1].startswith(f"[progress] {passed}/{passed} tests in ")
  assert all(line.endswith("left at the rate so far") for line in lines)


def test_the_licence_the_package_declares_ships_with_it():
  distribution = apply_configuration(Distribution(), os.path.join(ROOT, "pyproject.toml"))
  assert distribution.metadata.license_expression == "Apache-2.0"
  with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as f:
    text = f.read()
  assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_every_extra_the_kinds_name_is_declared():
  from jaxgan import tasks  # pylint: disable=import-outside-toplevel
  distribution = apply_configuration(Distribution(), os.path.join(ROOT, "pyproject.toml"))
  declared = set(distribution.extras_require)
  assert set(tasks.EXTRAS.values()) | {"all", "train", "test"} <= declared
  assert set(tasks.EXTRAS) <= set(tasks.TASKS.names())  # Tests may register more.
