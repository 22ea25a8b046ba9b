"""The error for settings training cannot use."""


class ConfigError(ValueError):
  """A config value training cannot use; the message names the problem and the fix."""
