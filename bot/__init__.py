"""The Telegram side and the process shell: settings, CLI, ingestion jobs, handlers, delivery.

``bot`` imports ``summaries`` and ``db``; nothing imports ``bot``.
"""
