"""BBC topic pairs: passages of task-pool articles, labelled by the article's category."""

from __future__ import annotations

from ..config import TaskSpec
from ..data.bbc import read_articles, task_pool
from .examples import Example, TaskData, make_task_data, passages

def load_bbc_task(spec: TaskSpec) -> TaskData:
    label_of = {spec.source.negative: 0, spec.source.positive: 1}
    examples = []
    for article in task_pool(read_articles()):
        if article.category not in label_of:
            continue
        for k, text in enumerate(passages(article.text, spec.passage.min_words, spec.passage.max_words)):
            examples.append(Example(f"{article.doc_id}#{k}", article.doc_id, text, label_of[article.category]))
    return make_task_data(spec.id, spec.version, examples)
