"""Recorded thresholds must stay consistent with their recorded distributions, and with what is measured now."""

import argparse
import dataclasses
import importlib
import os

import pytest

from autograder import calibration as tools
from autograder.calibrate import module_name
from cnncourse import calibration, runtime

LABS = sorted(p.stem for p in calibration.CAL_DIR.glob("*.json"))
RECORDS = [(lab, key, rec) for lab in LABS for key, rec in calibration.load_records(lab).items()]


def test_the_records_ship_with_the_student_package():
    assert LABS == ["lab4-first-cnn", "lab5-regularization", "lab6-architectures", "lab7-transfer", "lab9-optimization"]


@pytest.mark.parametrize("lab,key,rec", RECORDS, ids=[f"{lab}/{k[0]}/{k[1]}" for lab, k, _ in RECORDS])
def test_recorded_threshold_is_consistent(lab, key, rec):
    assert tools.problems(rec) == [], rec.summary()


FAST_RECORDS = [(lab, key[0]) for lab, key, _ in RECORDS if key[1] == "fast"]


@pytest.mark.slow
@pytest.mark.parametrize("lab,check", FAST_RECORDS, ids=[f"{lab}/{check}" for lab, check in FAST_RECORDS])
def test_a_fast_record_is_what_its_reference_measures_now(lab, check):
    """The reference answer's first seed, measured now, gives the recorded value under the recorded budget.

    A change to a check's measurement, a model the lab gives, a dataset or a budget moves this value:
    the bar was then placed on numbers the grader no longer computes. With oneDNN off
    (``runtime.KERNEL_ENV``, set by conftest) TensorFlow computes the same numbers on every x86 CPU.
    """
    spec = importlib.import_module(module_name(lab)).CHECKS[check]
    rec = calibration.record(lab, check, "fast", fallback=False)
    again = f"run `cnncourse calibrate {lab} --check {check} --profile fast` and commit the record"
    assert rec.budget == dataclasses.asdict(runtime.budget(spec.budget, "fast")), f"the budget changed: {again}"
    now = float(spec.reference(rec.seeds[0], "fast"))
    assert now == pytest.approx(rec.reference[0], abs=1e-6), f"seed {rec.seeds[0]} now measures {now}: {again}"


def test_records_are_measured_and_checked_with_the_same_threads_on_every_machine(monkeypatch, capsys):
    from autograder import calibrate

    assert os.environ["TF_NUM_INTRAOP_THREADS"] == str(calibration.RECORD_THREADS)  # this process (conftest)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "7")
    for name in ("CNNCOURSE_PROFILE", *runtime.KERNEL_ENV):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the command sets them
    parser = argparse.ArgumentParser()
    calibrate.add_arguments(parser)
    assert calibrate.run(parser.parse_args(["no-such-lab"])) == 2  # stops at the missing spec, threads set
    assert "no calibration spec" in capsys.readouterr().err
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == str(calibration.RECORD_THREADS)


def test_place_threshold_sits_between_groups():
    thr, margin, partial = tools.place_threshold([0.9, 0.92, 0.95], {"weak": [0.5, 0.7]})
    assert 0.7 < thr < 0.9 and margin == pytest.approx(0.1) and partial == 0.7


def test_place_threshold_refuses_groups_it_cannot_separate():
    with pytest.raises(ValueError, match="apart"):
        tools.place_threshold([0.80, 0.85], {"weak": [0.79]})


def test_lower_is_better_metrics_are_mirrored():
    thr, margin, partial = tools.place_threshold([0.05, 0.1], {"overfit": [0.4]}, higher_is_better=False)
    assert thr == pytest.approx(0.25) and partial == pytest.approx(0.4)


def test_problems_flags_a_threshold_moved_into_the_weak_range():
    rec = calibration.Record(
        lab="x",
        check="c",
        profile="fast",
        metric="acc",
        reference=[0.9] * 10,
        weak={"w": [0.6] * 10},
        threshold=0.61,
        partial=0.6,
        margin=0.15,
    )
    assert any("weak answer" in p for p in tools.problems(rec))


def test_grade_gives_full_half_and_no_credit(monkeypatch, capsys):
    rec = calibration.Record(
        lab="x",
        check="c",
        profile="fast",
        metric="accuracy",
        reference=[0.9] * 10,
        weak={"w": [0.6] * 10},
        threshold=0.75,
        partial=0.6,
        margin=0.15,
    )
    monkeypatch.setattr(calibration, "record", lambda lab, check, profile=None: rec)
    assert calibration.grade("x", "c", 0.8, 4) == 4
    assert calibration.grade("x", "c", 0.65, 4) == 2
    assert calibration.grade("x", "c", 0.3, 4) == 0
    assert "the bar (fast profile) is at least 0.750" in capsys.readouterr().out


def _fake_spec(weak_must_fail):
    from autograder.calibrations import Spec

    return Spec(
        metric="gap",
        budget="lab4.lenet",
        reference=lambda seed, profile: 0.01 * (seed % 3),
        weak={"plain": lambda seed, profile: 0.03},
        higher_is_better=False,
        weak_must_fail=weak_must_fail,
        min_margin=0.05,
    )


def test_a_property_bar_is_set_by_the_reference_and_reports_the_weak(monkeypatch, tmp_path):
    from autograder import calibrate

    monkeypatch.setattr(calibration, "CAL_DIR", tmp_path)
    rec = calibrate.calibrate_check("x", "gap", _fake_spec(False), "fast", list(range(10)), log=lambda *a: None)
    assert rec.weak == {} and rec.threshold == pytest.approx(0.07) and "plain: 0.030" in rec.notes
    assert tools.problems(rec) == []
    assert calibration.load_records("x")[("gap", "fast")].threshold == rec.threshold


def test_weak_answers_that_must_fail_but_do_not_stop_calibration(monkeypatch, tmp_path):
    from autograder import calibrate

    monkeypatch.setattr(calibration, "CAL_DIR", tmp_path)
    with pytest.raises(ValueError, match="apart"):
        calibrate.calibrate_check("x", "gap", _fake_spec(True), "fast", list(range(10)), log=lambda *a: None)


def test_missing_full_record_falls_back_to_fast_with_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(calibration, "CAL_DIR", tmp_path)
    rec = calibration.Record(
        lab="labx",
        check="acc",
        profile="fast",
        metric="accuracy",
        reference=[0.9] * 10,
        weak={"w": [0.5] * 10},
        threshold=0.7,
        partial=0.5,
        margin=0.2,
    )
    tools.save_record(rec)
    assert calibration.record("labx", "acc", "fast").threshold == 0.7
    assert calibration.record("labx", "acc", "full").profile == "fast"
    assert "no 'full' calibration yet" in capsys.readouterr().out
    with pytest.raises(KeyError, match="--profile full"):
        calibration.record("labx", "acc", "full", fallback=False)
    with pytest.raises(calibration.MissingCalibrationError, match="No calibration for labx/other"):
        calibration.record("labx", "other", "fast")
