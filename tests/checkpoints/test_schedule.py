from pipeline.checkpoints.schedule import local_steps, pythia_steps


def test_pythia_rule():
    steps = pythia_steps()
    assert len(steps) == 154
    assert steps[:11] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert steps[11] == 1000 and steps[-1] == 143000
    assert 144000 not in steps and all(b - a == 1000 for a, b in zip(steps[11:], steps[12:]))


def test_local_schedule_is_pythia_shaped():
    assert local_steps(1000, 512, 5) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 610, 707, 805, 902, 1000]
    assert local_steps(800, 512, 6) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 560, 608, 656, 704, 752, 800]
    # a short run stops doubling at its end and still ends on the final step
    assert local_steps(40, 512, 3) == [0, 1, 2, 4, 8, 16, 32, 35, 37, 40]
    assert local_steps(32, 512, 3) == [0, 1, 2, 4, 8, 16, 32]
