"""The `--config` flag of train.py: a config file plus `--config.<field>=<value>` overrides.

Fields of the file can be overridden; new keys are accepted only inside the
keyword-argument fields (`KWARGS_FIELDS`), whose entries go to a loss, a model or an
optax optimizer as they are (`--config.loss_kwargs.margin=1.0`). Everything else that is not in
the file is a misspelling, answered with the closest real field.
"""

import contextlib
import glob
import importlib.util
import os
import re
from typing import Any, Iterator

from absl import flags
from ml_collections import config_flags

from jaxgan.errors import ConfigError, did_you_mean

# Config fields whose entries are keyword arguments of a component chosen by name.
KWARGS_FIELDS = ("loss_kwargs", "generator", "discriminator", "g_optimizer", "d_optimizer",
                 "task_kwargs", "augment_kwargs")


@contextlib.contextmanager
def _flag_errors_as_config_errors() -> Iterator[None]:
  try:
    yield
  except (flags.Error, ValueError, TypeError, KeyError, AttributeError) as e:
    if isinstance(e, ConfigError):
      raise
    message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)  # No repr quotes.
    raise ConfigError(message) from None


def define_config_flag(default_file: str) -> None:
  """`--config`: a config file, `default_file` when not given, with field overrides.
  Raises ConfigError for an override ml_collections cannot apply."""
  with _flag_errors_as_config_errors():  # Without --config, overrides apply right here.
    config_flags.DEFINE_config_file("config", default_file, "Experiment config file.",
                                    lock_config=False, accept_new_attributes=True)


def _flat_keys(config: Any, prefix: str = "") -> list[str]:
  keys = []
  for key, value in config.items():
    keys.append(prefix + key)
    if hasattr(value, "items"):
      keys += _flat_keys(value, f"{prefix}{key}.")
  return keys


def load_config_file(path: str) -> Any:
  """`get_config()` of the config file at `path`, as written (no overrides)."""
  spec = importlib.util.spec_from_file_location("_config_as_written", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def config_file_in(argv: list[str]) -> str | None:
  """The path given to `--config` in `argv` (without a `:argument` suffix), if any."""
  for i, arg in enumerate(argv):
    match = re.fullmatch(r"--?config(?:=(.*))?", arg)
    if match:
      value = match.group(1) if match.group(1) is not None else (
          argv[i + 1] if i + 1 < len(argv) else "")
      return value.split(":")[0]
  return None


def check_config_file(path: str, configs_dir: str) -> None:
  """Raises ConfigError naming `path` and the configs in `configs_dir` if it is no file."""
  if os.path.isfile(path):
    return
  known = sorted(os.path.basename(p) for p in glob.glob(os.path.join(configs_dir, "*.py"))
                 if not p.endswith("__init__.py"))
  shown = os.path.relpath(configs_dir)
  shown = configs_dir if shown.startswith("..") else shown
  raise ConfigError(f"--config {path}: no such file. Configs in {shown}/: {', '.join(known)}.")


def parse(flag_values: flags.FlagValues, argv: list[str], configs_dir: str) -> list[str]:
  """Parses `argv` into `flag_values`; raises ConfigError for a config file that does not
  exist, an override of a field the file does not have, or a value that does not parse."""
  given = config_file_in(argv)
  if given is not None:
    check_config_file(given, configs_dir)
  with _flag_errors_as_config_errors():
    remaining = flag_values(argv)
  config_flag = flag_values["config"]
  written = _flat_keys(load_config_file(config_flags.get_config_filename(config_flag)))
  for field, value in config_flags.get_override_values(config_flag).items():
    if field in written or field.split(".")[0] in KWARGS_FIELDS and "." in field:
      continue
    raise ConfigError(
        f"--config.{field}={value} names a field the config does not have."
        f"{did_you_mean(field, written)} New keys are taken only inside "
        f"{', '.join(KWARGS_FIELDS)} (keyword arguments of the loss, the models, the "
        f"optimizers and the task).")
  flag_values.config.lock()
  return remaining
