"""bench/compare.py's table survives a failing row and keeps every measured row on disk."""

import json
import sys

import pytest

from bench import compare

RESULT = {"rates": [2.0, 3.0, 4.0], "compile_s": 1.5, "flops_per_step": 1e9,
          "peak_rss_mib": 100.0, "peak_device_bytes": None, "device": "cpu", "devices": 1}


def _fake_measure(failures: dict):
  def measure(framework, model="", batch=0, steps=0, repeats=0):
    if framework == "peak":
      return {"peak_flops": 1e10}
    if framework in failures:
      raise failures[framework]
    return RESULT
  return measure


def _main(monkeypatch, tmp_path, failures, frameworks):
  monkeypatch.setattr(compare, "_measure", _fake_measure(failures))
  monkeypatch.setattr(sys, "argv", ["compare.py", "--models", "dcgan32", "--batch_sizes", "64",
                                    "--frameworks", *frameworks, "--json",
                                    str(tmp_path / "rows.json")])
  compare.main()


def test_a_failing_row_is_recorded_and_the_table_goes_on(monkeypatch, tmp_path, capsys):
  failures = {"jaxgan-simultaneous": RuntimeError("worker failed:\nRuntimeError: in place")}
  _main(monkeypatch, tmp_path, failures, ["jaxgan-simultaneous", "jaxgan"])
  rows = json.load(open(tmp_path / "rows.json"))
  assert [row["framework"] for row in rows] == ["jaxgan", "jaxgan-simultaneous"]
  assert rows[0]["steps_per_s"] == 3.0 and rows[1]["error"] == "RuntimeError: in place"
  assert "| dcgan32 | 64 | jaxgan-simultaneous | failed: RuntimeError: in place |" in (
      capsys.readouterr().out)


def test_rows_measured_before_a_crash_are_on_disk(monkeypatch, tmp_path):
  with pytest.raises(MemoryError):
    _main(monkeypatch, tmp_path, {"jaxgan-simultaneous": MemoryError()},
          ["jaxgan", "jaxgan-simultaneous"])
  assert [row["framework"] for row in json.load(open(tmp_path / "rows.json"))] == ["jaxgan"]
