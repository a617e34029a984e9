"""From a feed URL to a summarized, tagged article.

Fetching (``fetch``), feed parsing (``feeds``), full-text extraction (``extract``),
URL and text normalisation (``urls``, ``text``), language detection (``language``),
scheduling decisions (``schedule``), duplicate detection (``dedup``), summarizing
(``summarize``), topics (``topics``) and forum facts (``events``).

This package never imports ``db`` or ``bot``: it works on plain data.
"""
