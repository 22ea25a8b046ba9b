"""The error for settings training cannot use, and the hints its messages give."""

import difflib
import inspect
from typing import Any, Callable, Iterable


class ConfigError(ValueError):
  """A config value training cannot use; the message names the problem and the fix."""


class DataError(ConfigError):
  """A problem in the data's own files (a bad value, line or file); the message names the
  file and the fix."""


class NoEvaluation(ConfigError):
  """Samples of this data cannot be measured with these settings; training goes on without
  evaluations, the evaluate command stops. The message names the fix."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
  """`" Did you mean 'x'?"` for the known name closest to a misspelt `name`, else `""`."""
  close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
  return f" Did you mean {close[0]!r}?" if close else ""


def check_kwargs(fn: Callable[..., Any], kwargs: dict[str, Any], what: str) -> None:
  """Raises ConfigError if `fn` (a function or a class) takes no keyword argument of one of
  the names in `kwargs`, naming the closest one it does take."""
  parameters = inspect.signature(fn).parameters.values()
  if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
    return
  internal = {"parent", "name"} if isinstance(fn, type) else set()  # A Flax module's own.
  accepted = [p.name for p in parameters
              if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
              and p.name not in internal]
  for key in kwargs:
    if key not in accepted:
      raise ConfigError(f"{what} takes no argument {key!r}.{did_you_mean(key, accepted)} It "
                        f"takes: {', '.join(accepted) or 'no arguments'}.")
