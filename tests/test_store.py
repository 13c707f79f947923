"""A unit whose files were damaged counts as not done, so a rerun recomputes it."""

import numpy as np

from pipeline.store import Store


def test_damaged_units_are_not_done(tmp_path):
    store = Store(tmp_path)
    store.write_unit("head", "k1", {"accuracy": 0.5}, {"test_proba": np.arange(3.0)})
    store.write_unit("head", "k2", {"accuracy": 0.7})
    assert store.is_done("head", "k1") and store.read_record("head", "k1")["arrays"] == ["test_proba"]
    assert store.is_done("head", "k2")
    npz = tmp_path / "units" / "head" / "k1.npz"
    npz.write_bytes(npz.read_bytes()[:20])          # truncated arrays
    assert not store.is_done("head", "k1")
    npz.unlink()                                    # missing arrays
    assert not store.is_done("head", "k1")
    rec = tmp_path / "units" / "head" / "k2.json"
    rec.write_text("[]")                            # valid JSON, not a record
    assert not store.is_done("head", "k2")
    rec.write_bytes(b"\xff\xfe garbage")            # undecodable bytes
    assert not store.is_done("head", "k2")
    store.write_unit("head", "k1", {"accuracy": 0.5}, {"test_proba": np.arange(3.0)})
    assert store.is_done("head", "k1")
