import numpy as np

from pipeline.tasks.splits import assign_documents, balanced_indices, make_splits, unit_hash


def test_unit_hash_is_the_documented_sha256_prefix():
    import hashlib

    expected = int.from_bytes(hashlib.sha256(b"split\x1f0\x1fdoc-a").digest()[:8], "big") / 2**64
    assert unit_hash("split", 0, "doc-a") == expected
    assert 0 <= expected < 1


def test_assignment_follows_the_hash_thresholds():
    docs = [f"d{i}" for i in range(200)]
    which = assign_documents(docs, seed=3, weak_train=0.3, strong_train=0.4)
    for d, w in zip(docs, which):
        u = unit_hash("split", 3, d)
        assert w == (0 if u < 0.3 else 1 if u < 0.7 else 2)
    # the shares are close to the fractions
    counts = np.bincount(which, minlength=3) / len(docs)
    assert np.allclose(counts, [0.3, 0.4, 0.3], atol=0.1)


def test_balanced_indices_by_hand():
    labels = np.array([0, 0, 0, 1, 1, 0])
    candidates = np.array([0, 1, 2, 3, 4, 5])
    key = np.array([0.9, 0.1, 0.5, 0.7, 0.2, 0.3])
    # two per class: class 0 lowest keys are rows 1 (0.1) and 5 (0.3); class 1 rows 4 and 3
    assert balanced_indices(labels, candidates, key).tolist() == [1, 3, 4, 5]
    assert balanced_indices(labels, candidates, key, limit=2).tolist() == [1, 4]


def test_splits_are_disjoint_by_document_balanced_and_seeded():
    rng = np.random.default_rng(0)
    docs = [f"doc{i // 4}" for i in range(400)]           # 4 passages per document
    ids = [f"{d}#{i % 4}" for i, d in enumerate(docs)]
    labels = np.array([int(d[3:]) % 2 for d in docs])
    a = make_splits(docs, ids, labels, seed=0, weak_train=0.3, strong_train=0.4)
    b = make_splits(docs, ids, labels, seed=0, weak_train=0.3, strong_train=0.4)
    c = make_splits(docs, ids, labels, seed=1, weak_train=0.3, strong_train=0.4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)
    doc_sets = {k: {docs[i] for i in v} for k, v in a.items()}
    assert not (doc_sets["weak_train"] & doc_sets["strong_train"])
    assert not (doc_sets["weak_train"] & doc_sets["test"])
    assert not (doc_sets["strong_train"] & doc_sets["test"])
    for idx in a.values():
        assert np.bincount(labels[idx]).tolist()[0] == np.bincount(labels[idx]).tolist()[1] > 0
    capped = make_splits(docs, ids, labels, 0, 0.3, 0.4, {"test": 10})
    assert len(capped["test"]) == 10 and np.bincount(labels[capped["test"]]).tolist() == [5, 5]
    del rng
