"""The parts of sumy the summarizer and the term stemmer use, imported without the optional
scientific stack NLTK pulls in.

sumy's stemmers are NLTK's Snowball stemmers, and importing anything of NLTK runs its package
``__init__``, which imports scipy and scikit-learn when they are installed (for statistics and
classifiers nothing here uses): ~90 MB and ~1 s in every process that summarizes, the ingest
workers included. NLTK imports both under ``try`` and does without them, so they are hidden
while it loads; the stems are NLTK's own (a newer Snowball release stems differently:
"university" is "universiti" there, "univers" here, and keyword matching is tuned on these).
When scipy or scikit-learn is already loaded there is nothing to save and nothing is hidden.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "AbstractSummarizer",
    "ObjectDocumentModel",
    "Paragraph",
    "Sentence",
    "Stemmer",
    "get_stop_words",
    "null_stemmer",
]

# Optional to NLTK, never used through it here.
_HIDDEN = ("scipy", "sklearn")


@contextmanager
def _without(names: tuple[str, ...]) -> Iterator[None]:
    """Within the block, ``import name`` raises ImportError for the names not loaded yet."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "absent"
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


with _without(_HIDDEN):
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer, null_stemmer
    from sumy.summarizers._summarizer import AbstractSummarizer
    from sumy.utils import get_stop_words
