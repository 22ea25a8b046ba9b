"""bench/compare.py's table survives a failing row, keeps every measured row on disk, and
takes turns over rounds."""

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


def _main(monkeypatch, tmp_path, failures, frameworks, *extra_args, measure=None):
  monkeypatch.setattr(compare, "_measure", measure or _fake_measure(failures))
  monkeypatch.setattr(sys, "argv", ["compare.py", "--models", "dcgan32", "--batch_sizes", "64",
                                    "--frameworks", *frameworks, "--json",
                                    str(tmp_path / "rows.json"), *extra_args])
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


def test_rounds_take_turns_and_pool_every_run(monkeypatch, tmp_path):
  order, rates = [], iter([[1.0, 2.0], [4.0, 4.0], [3.0, 9.0], [8.0, 8.0]])

  def measure(framework, model="", batch=0, steps=0, repeats=0):
    if framework == "peak":
      return {"peak_flops": 1e10}
    order.append(framework)
    return RESULT | {"rates": next(rates)}

  _main(monkeypatch, tmp_path, {}, ["torch", "jaxgan"], "--rounds", "2", measure=measure)
  assert order == ["jaxgan", "torch", "jaxgan", "torch"]
  rows = {row["framework"]: row for row in json.load(open(tmp_path / "rows.json"))}
  assert rows["jaxgan"]["steps_per_s"] == 2.5  # The median of 1, 2, 3 and 9.
  assert rows["torch"]["steps_per_s"] == 6.0 and rows["jaxgan"]["vs_torch"] == 2.5 / 6.0
  assert (rows["jaxgan"]["steps_per_s_min"], rows["jaxgan"]["steps_per_s_max"]) == (1.0, 9.0)


def test_a_round_that_fails_fails_the_row(monkeypatch, tmp_path):
  calls = iter([RESULT, RuntimeError("worker failed:\nMemoryError")])

  def measure(framework, model="", batch=0, steps=0, repeats=0):
    if framework == "peak":
      return {"peak_flops": 1e10}
    outcome = next(calls)
    if isinstance(outcome, Exception):
      raise outcome
    return outcome

  _main(monkeypatch, tmp_path, {}, ["jaxgan"], "--rounds", "2", measure=measure)
  assert json.load(open(tmp_path / "rows.json"))[0]["error"] == "MemoryError"
