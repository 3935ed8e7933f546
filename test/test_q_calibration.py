"""Platt scaling of q against lift outcomes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gqstn_ros.q_calibration import QCalibration, expected_calibration_error, load_q_calibrations


def test_fit_recovers_a_known_miscalibration() -> None:
    rng = np.random.default_rng(0)
    q = rng.uniform(0.02, 0.98, 20000)
    truth = QCalibration(slope=0.5, intercept=-0.8)
    lifted = rng.uniform(size=q.size) < truth.apply(q)
    fitted = QCalibration.fit(q, lifted, {"data": "synthetic"})
    assert fitted.slope == pytest.approx(0.5, abs=0.05)
    assert fitted.intercept == pytest.approx(-0.8, abs=0.08)
    assert expected_calibration_error(fitted.apply(q), lifted) < 0.02
    assert expected_calibration_error(q, lifted) > 0.15
    assert fitted.fitted_on == {"data": "synthetic"}


def test_calibration_keeps_the_ranking_and_identity_is_identity() -> None:
    q = np.linspace(0.0, 1.0, 101)
    calibrated = QCalibration(0.3, 1.2).apply(q)
    assert np.all(np.diff(calibrated) >= 0)
    assert np.allclose(QCalibration().apply(q[1:-1]), q[1:-1])


def test_separable_data_gives_a_finite_fit() -> None:
    q = np.array([0.1, 0.2, 0.8, 0.9])
    fitted = QCalibration.fit(q, np.array([False, False, True, True]))
    assert np.isfinite(fitted.slope) and np.isfinite(fitted.intercept) and fitted.slope > 1


def test_round_trip_and_bad_files(tmp_path) -> None:
    path = tmp_path / "gqstn_q_calibration.json"
    QCalibration(0.7, -0.2, {"grasps": 10}).save(path)
    assert QCalibration.load(path) == QCalibration(0.7, -0.2, {"grasps": 10})
    cases = {
        "missing.json": None,
        "broken.json": "{",
        "fields.json": json.dumps({"slope": 1.0}),
        "unknown.json": json.dumps({"slope": 1.0, "intercept": 0.0, "bias": 2}),
        "negative.json": json.dumps({"slope": -1.0, "intercept": 0.0}),
        "text.json": json.dumps({"slope": "one", "intercept": 0.0}),
    }
    messages = {
        "missing.json": "does not exist",
        "broken.json": "not valid JSON",
        "fields.json": "needs the fields slope and intercept",
        "unknown.json": "unknown fields",
        "negative.json": "reverses the ranking",
        "text.json": "must be a number",
    }
    for name, text in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=messages[name]) as caught:
            QCalibration.load(tmp_path / name)
        assert name in str(caught.value)


def test_a_calibration_fitted_for_another_judge_is_refused(tmp_path) -> None:
    QCalibration(0.7, 1.6, {"judge_model": "gqcnn_judge.pt"}).save(
        tmp_path / "gqstn_q_calibration.json"
    )
    QCalibration(1.0, 0.0, {"grasps": 10}).save(tmp_path / "directgrasp_q_calibration.json")
    loaded = load_q_calibrations(tmp_path, ["gqstn", "directgrasp"], "gqcnn_judge.pt")
    assert loaded["gqstn"].intercept == pytest.approx(1.6)
    with pytest.raises(ValueError, match=r"judged by gqcnn_judge\.pt, but q here is judged by the"):
        load_q_calibrations(tmp_path, ["gqstn"], "")
    # Without a judge to check against, or for a file that records none, nothing is refused.
    assert set(load_q_calibrations(tmp_path, ["gqstn", "directgrasp"])) == {"gqstn", "directgrasp"}
    assert set(load_q_calibrations(tmp_path, ["directgrasp"], "")) == {"directgrasp"}
    # With the models folder, a judge named by its path there is the same judge.
    models = tmp_path / "models"
    same = str(models / "gqcnn_judge.pt")
    assert set(load_q_calibrations(tmp_path, ["gqstn"], same, models)) == {"gqstn"}
    with pytest.raises(ValueError, match=r"judged by gqcnn_judge\.pt, but q here is judged by"):
        load_q_calibrations(tmp_path, ["gqstn"], str(tmp_path / "gqcnn_judge.pt"), models)
