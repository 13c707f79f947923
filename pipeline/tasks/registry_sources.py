"""Tasks over registry-packaged data: fine-food reviews, SpamAssassin, WordNet glosses."""

from __future__ import annotations

from ..config import TaskSpec
from ..data.registry_tasks import read_fine_foods, read_spam_assassin, read_wordnet_nouns
from .examples import Example, TaskData, dedupe, make_task_data, truncate_words


def _task(spec: TaskSpec, records, positive: str) -> TaskData:
    examples = [Example(r.id, r.doc_id, truncate_words(r.text, spec.max_words), int(r.category == positive))
                for r in records]
    return make_task_data(spec.id, spec.version, dedupe([e for e in examples if e.text]))


def load_fine_foods_task(spec: TaskSpec, root=None) -> TaskData:
    """great (1) vs other (0)."""
    return _task(spec, read_fine_foods(root), "great")


def load_spam_assassin_task(spec: TaskSpec, root=None) -> TaskData:
    """spam (1) vs ham (0), message bodies without headers."""
    return _task(spec, read_spam_assassin(spec.source.groups, root), "spam")


def load_wordnet_task(spec: TaskSpec, root=None) -> TaskData:
    src = spec.source
    records = read_wordnet_nouns({src.negative, src.positive}, src.with_examples, root)
    return _task(spec, records, src.positive)
