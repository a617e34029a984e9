"""Own-feed routing: which chats an article goes to because a feed they follow themselves
(/sub) carried it, and which articles only such private feeds carried (those reach no
other chat by topic or rule: a chat's feed is not everyone's news).

``owned_articles`` reads it for a batch of articles (one query); ``OwnedArticles.owners_of``
applies each chat's topic filter, a pure decision routing calls once per article.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from db import chatfeeds
from db.chatfeeds import ArticleOwner


@dataclass(frozen=True, slots=True)
class OwnedArticles:
    owners: dict[int, tuple[ArticleOwner, ...]] = field(default_factory=dict)
    private: frozenset[int] = frozenset()

    def owners_of(self, article_id: int, topics: Sequence[str]) -> list[ArticleOwner]:
        """The chats the article goes to through their own feeds, each once: a chat whose
        filter for a feed names topics gets that feed's articles on them only."""
        chosen: dict[int, ArticleOwner] = {}
        for owner in self.owners.get(article_id, ()):
            if not owner.topics or not set(owner.topics).isdisjoint(topics):
                chosen.setdefault(owner.chat_id, owner)
        return list(chosen.values())

    def is_private(self, article_id: int) -> bool:
        return article_id in self.private


async def owned_articles(session: AsyncSession, article_ids: Sequence[int]) -> OwnedArticles:
    owners: dict[int, list[ArticleOwner]] = {}
    found, private = await chatfeeds.article_feeds(session, article_ids)
    for owner in found:
        owners.setdefault(owner.article_id, []).append(owner)
    return OwnedArticles({a: tuple(o) for a, o in owners.items()}, frozenset(private))
