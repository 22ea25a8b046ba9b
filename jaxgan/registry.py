"""Components chosen by name: registered names, or `"package.module:attribute"` for your own."""

import importlib
from typing import Generic, Mapping, TypeVar

from jaxgan.errors import ConfigError, did_you_mean

T = TypeVar("T")


def import_attribute(path: str):
  """Imports `"package.module:attribute"`."""
  module_name, _, attribute = path.partition(":")
  try:
    module = importlib.import_module(module_name)
  except ImportError as e:
    raise ConfigError(f"Cannot import module {module_name!r} named in {path!r}: {e}") from e
  try:
    return getattr(module, attribute)
  except AttributeError:
    raise ConfigError(f"Module {module_name!r} has no attribute {attribute!r} "
                     f"(named in {path!r}).") from None


class Registry(Generic[T]):
  """A name -> component table whose unknown names raise an error listing the known ones.
  An entry given as a `"package.module:attribute"` string is imported when first asked for,
  so that a component's dependencies load only where it is used."""

  def __init__(self, kind: str, entries: Mapping[str, T]):
    self.kind = kind
    self._entries = dict(entries)

  def names(self) -> list[str]:
    return sorted(self._entries)

  def register(self, name: str, entry: T) -> T:
    self._entries[name] = entry
    return entry

  def get(self, name: str) -> T:
    if ":" in name:
      return import_attribute(name)
    if name not in self._entries:
      raise ConfigError(f"Unknown {self.kind} {name!r}.{did_you_mean(name, self.names())} "
                        f"Known: {', '.join(self.names())}; or give your own as "
                        f"'package.module:attribute'.")
    entry = self._entries[name]
    return import_attribute(entry) if isinstance(entry, str) else entry
