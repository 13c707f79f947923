from pipeline.tasks.examples import Example, make_task_data, passages, sentences


def test_sentences_split_on_terminal_punctuation_and_lines():
    text = "Title line\n\nFirst one. Second one! Third? e.g. not split. Fourth."
    assert sentences(text) == ["Title line", "First one.", "Second one!", "Third? e.g. not split.", "Fourth."]


def test_passages_pack_whole_sentences_within_bounds():
    s5 = "One two three four five."
    text = " ".join([s5] * 7)  # 35 words in 5-word sentences
    out = passages(text, min_words=10, max_words=12)
    assert out == [" ".join([s5] * 2)] * 3  # 10,10,10; the 5-word remainder is dropped
    long_sentence = " ".join(f"w{i}" for i in range(25)) + "."
    cut = passages(long_sentence, min_words=5, max_words=10)
    assert [len(p.split()) for p in cut] == [10, 10, 5]


def test_digest_tracks_every_example():
    a = make_task_data("t", 1, [Example("x#0", "x", "hello", 0), Example("y#0", "y", "bye", 1)])
    b = make_task_data("t", 1, [Example("y#0", "y", "bye", 1), Example("x#0", "x", "hello", 0)])
    c = make_task_data("t", 1, [Example("x#0", "x", "hello", 1), Example("y#0", "y", "bye", 1)])
    assert a.digest == b.digest and [e.id for e in a.examples] == ["x#0", "y#0"]
    assert a.digest != c.digest
