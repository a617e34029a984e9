"""Chat queries: chats and their settings, topics, keyword rules and saved searches, and
the article lookups subscribers make (/latest, /search, /events, cards opened from lists).

Callers own the transaction (``async with sessions() as s, s.begin():``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict, Unpack

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db import chatfeeds
from db.models import (
    Article,
    ArticleSource,
    Chat,
    ChatRule,
    ChatSearch,
    ChatTopic,
    Delivery,
    Feed,
)
from summaries.topics import TOPICS, topic_by_slug

# /latest and /events scan this many recent rows and filter them in Python.
SCAN_LIMIT = 500
# Searches kept per chat for paging their lists; older ones answer "expired".
KEEP_SEARCHES = 20
# Chat ids per IN (...) list.
IN_CHUNK = 500


class SettingsChange(TypedDict, total=False):
    """The chat settings a subscriber may change (db.models.Chat columns)."""

    mode: str
    digest_hour: int
    digest_weekday: int
    timezone: str
    summary_sentences: int
    forums_only: bool
    paused: bool
    last_digest_at: datetime | None
    silent: bool
    quiet_start: int | None
    quiet_end: int | None
    language: str | None


@dataclass(frozen=True, slots=True)
class SubscribedChat:
    """An active chat with what it subscribed to (rules in canonical query form)."""

    chat: Chat
    topics: frozenset[str]
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A subscribable chat's routing settings, as a plain row."""

    chat_id: int
    mode: str
    sentences: int
    timezone: str
    thread_id: int | None
    forums_only: bool
    language: str | None = None
    slot: int = 0  # chats.slot (every stored chat has its own)


@dataclass(frozen=True, slots=True)
class SubscriptionRows:
    """Plain rows: active, unpaused chats, and (chat id, slug) and (chat id, canonical
    query) rows, rules in id order. Topic and rule rows of chats not among ``chats`` are
    to be ignored (their chat is paused or inactive)."""

    chats: Sequence[ChatRow]
    topics: Sequence[tuple[int, str]]
    rules: Sequence[tuple[int, str]]


# ------------------------------------------------------------------------------ chats


async def get_chat(session: AsyncSession, chat_id: int) -> Chat | None:
    return await session.get(Chat, chat_id)


async def get_or_create_chat(
    session: AsyncSession,
    chat_id: int,
    *,
    chat_type: str,
    title: str | None,
    now: datetime,
    thread_id: int | None = None,
) -> tuple[Chat, bool]:
    """The chat's row, created with default settings (instant mode) if new; True if created.

    A chat the user talks to again is active again (it may have been deactivated when the
    bot was blocked), its title is refreshed, and a forum thread it speaks from becomes
    the thread its pushes go to.
    """
    chat = await session.get(Chat, chat_id)
    if chat is None:
        # A user's first few messages arrive together and are handled at once: each finds
        # no row. The first INSERT wins; the others do nothing and read the row it made.
        new = Chat(id=chat_id, type=chat_type, title=title, created_at=now, thread_id=thread_id)
        connection = await session.connection()
        insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(
            Chat
        )
        result = await session.exec(
            # The slot is left to the INSERT (db.models.NextSlot).
            insert.values(new.model_dump(exclude={"slot"}))
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(col(Chat.id))
        )
        created = result.first() is not None
        found = await session.get(Chat, chat_id)
        assert found is not None  # inserted now, or by the request that won
        return found, created
    chat.type = chat_type
    chat.title = title or chat.title
    chat.active = True
    chat.deactivated_reason = None
    if thread_id is not None:
        chat.thread_id = thread_id
    await session.flush()
    return chat, False


async def update_settings(
    session: AsyncSession, chat_id: int, **changes: Unpack[SettingsChange]
) -> Chat | None:
    """Change some settings of a chat; None if the chat is unknown."""
    chat = await session.get(Chat, chat_id)
    if chat is None:
        return None
    if chat.mode != "instant" and changes.get("mode", chat.mode) == "instant":
        # Digest matches may be pending: send_due_digests sends them once (a catch-up).
        chat.catch_up = True
    for key, value in changes.items():
        setattr(chat, key, value)
    await session.flush()
    return chat


async def delete_chat(session: AsyncSession, chat_id: int) -> bool:
    """Forget a chat: its settings, topics, rules, own feeds and unsent deliveries. Its
    bits in routes are left (a slot resolves only to a chat no newer than the route)."""
    chat = await session.get(Chat, chat_id)
    if chat is None:
        return False
    # Explicit deletes rather than trusting ON DELETE CASCADE: it needs a pragma on SQLite.
    await chatfeeds.unlink_chat(session, chat_id)
    for model in (ChatTopic, ChatRule, ChatSearch, Delivery):
        await session.exec(delete(model).where(col(model.chat_id) == chat_id))
    await session.delete(chat)
    await session.flush()
    return True


# ------------------------------------------------------------------------------ topics


async def chat_topics(session: AsyncSession, chat_id: int) -> list[str]:
    """The chat's topic slugs, in taxonomy order."""
    rows = (await session.exec(select(ChatTopic.slug).where(ChatTopic.chat_id == chat_id))).all()
    return _taxonomy_order(rows)


async def add_topic(session: AsyncSession, chat_id: int, slug: str) -> bool:
    """Subscribe to a topic; False if unknown or already there."""
    if topic_by_slug(slug) is None or await session.get(ChatTopic, (chat_id, slug)) is not None:
        return False
    session.add(ChatTopic(chat_id=chat_id, slug=slug))
    await session.flush()
    return True


async def remove_topic(session: AsyncSession, chat_id: int, slug: str) -> bool:
    found = await session.get(ChatTopic, (chat_id, slug))
    if found is None:
        return False
    await session.delete(found)
    await session.flush()
    return True


async def toggle_topic(session: AsyncSession, chat_id: int, slug: str) -> bool:
    """Flip a topic; returns whether the chat has it now."""
    if await remove_topic(session, chat_id, slug):
        return False
    return await add_topic(session, chat_id, slug)


# ------------------------------------------------------------------------------ rules


async def chat_rules(session: AsyncSession, chat_id: int) -> Sequence[ChatRule]:
    query = select(ChatRule).where(ChatRule.chat_id == chat_id).order_by(col(ChatRule.id))
    return (await session.exec(query)).all()


async def add_rule(
    session: AsyncSession, chat_id: int, query: str, *, now: datetime
) -> tuple[ChatRule, bool]:
    """Store a keyword rule, given in canonical form (``str(parse_rule(...))``: storage
    stores what it is given); True if new."""
    canonical = query
    existing = (
        await session.exec(
            select(ChatRule).where(ChatRule.chat_id == chat_id, ChatRule.query == canonical)
        )
    ).first()
    if existing is not None:
        return existing, False
    rule = ChatRule(chat_id=chat_id, query=canonical, created_at=now)
    session.add(rule)
    await session.flush()
    return rule, True


async def has_rule(session: AsyncSession, chat_id: int, query: str) -> bool:
    """Whether the chat follows the rule ``query`` (canonical form)."""
    canonical = query
    found = await session.exec(
        select(ChatRule.id).where(ChatRule.chat_id == chat_id, ChatRule.query == canonical)
    )
    return found.first() is not None


async def rule_count(session: AsyncSession, chat_id: int) -> int:
    query = select(sa.func.count()).select_from(ChatRule).where(col(ChatRule.chat_id) == chat_id)
    return int((await session.exec(query)).one())


async def remove_rule(session: AsyncSession, chat_id: int, rule_id: int) -> ChatRule | None:
    """Remove one of the chat's rules by id; the removed rule, or None."""
    rule = await session.get(ChatRule, rule_id)
    if rule is None or rule.chat_id != chat_id:
        return None
    await session.delete(rule)
    await session.flush()
    return rule


async def remove_rule_by_query(session: AsyncSession, chat_id: int, query: str) -> bool:
    """Remove the rule ``query`` (canonical form); True if the chat had it."""
    canonical = query
    result = await session.exec(
        delete(ChatRule).where(col(ChatRule.chat_id) == chat_id, col(ChatRule.query) == canonical)
    )
    return bool(result.rowcount)


async def clear_subscriptions(session: AsyncSession, chat_id: int) -> int:
    """Remove every topic and rule of a chat; how many were removed."""
    removed = 0
    for model in (ChatTopic, ChatRule):
        result = await session.exec(delete(model).where(col(model.chat_id) == chat_id))
        removed += result.rowcount or 0
    return removed


# ------------------------------------------------------------------------------ routing


async def subscriptions(session: AsyncSession) -> list[SubscribedChat]:
    """Every active, unpaused chat that has a topic or a rule (three queries in all)."""
    chats = (
        await session.exec(
            select(Chat)
            .where(col(Chat.active).is_(True), col(Chat.paused).is_(False))
            .order_by(col(Chat.id))
        )
    ).all()
    if not chats:
        return []
    topics: dict[int, set[str]] = {}
    for chat_id, slug in (await session.exec(select(ChatTopic.chat_id, ChatTopic.slug))).all():
        topics.setdefault(chat_id, set()).add(slug)
    rules: dict[int, list[str]] = {}
    rule_rows = await session.exec(
        select(ChatRule.chat_id, ChatRule.query).order_by(col(ChatRule.id))
    )
    for chat_id, query in rule_rows.all():
        rules.setdefault(chat_id, []).append(query)
    return [
        SubscribedChat(chat, frozenset(topics.get(chat.id, ())), tuple(rules.get(chat.id, ())))
        for chat in chats
        if chat.id in topics or chat.id in rules
    ]


async def subscription_rows(
    session: AsyncSession, chat_ids: Collection[int] | None = None
) -> SubscriptionRows:
    """Every subscribable chat's rows (``chat_ids`` None), or those of some chats, as plain
    rows in three bulk queries (per IN_CHUNK chats): no ORM objects, which cost ~20 times
    as much to load for 100,000 chats."""
    parts: list[list[int] | None] = [None]
    if chat_ids is not None:
        ids = sorted(set(chat_ids))
        parts = [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]
    chats: list[ChatRow] = []
    topics: list[tuple[int, str]] = []
    rules: list[tuple[int, str]] = []
    for part in parts:
        chat_query = sa.select(
            col(Chat.id),
            col(Chat.mode),
            col(Chat.summary_sentences),
            col(Chat.timezone),
            col(Chat.thread_id),
            col(Chat.forums_only),
            col(Chat.language),
            Chat.__table__.c.slot,  # type: ignore[attr-defined]  # set by every INSERT: an int
        ).where(col(Chat.active).is_(True), col(Chat.paused).is_(False))
        topic_query = sa.select(col(ChatTopic.chat_id), col(ChatTopic.slug))
        rule_query = sa.select(col(ChatRule.chat_id), col(ChatRule.query)).order_by(
            col(ChatRule.id)
        )
        if part is not None:
            chat_query = chat_query.where(col(Chat.id).in_(part))
            topic_query = topic_query.where(col(ChatTopic.chat_id).in_(part))
            rule_query = rule_query.where(col(ChatRule.chat_id).in_(part))
        connection = await session.connection()
        chats += [ChatRow(*row) for row in await connection.execute(chat_query)]
        topics += [(c, s) for c, s in await connection.execute(topic_query)]
        rules += [(c, q) for c, q in await connection.execute(rule_query)]
    return SubscriptionRows(chats, topics, rules)


async def subscriptions_of(
    session: AsyncSession, chat_ids: Collection[int]
) -> dict[int, SubscribedChat]:
    """Some chats' subscriptions by chat id (whatever their state; unknown chats left out),
    in three queries."""
    ids = sorted(set(chat_ids))
    if not ids:
        return {}
    chats = (await session.exec(select(Chat).where(col(Chat.id).in_(ids)))).all()
    topics: dict[int, set[str]] = {}
    topic_rows = await session.exec(
        select(ChatTopic.chat_id, ChatTopic.slug).where(col(ChatTopic.chat_id).in_(ids))
    )
    for chat_id, slug in topic_rows.all():
        topics.setdefault(chat_id, set()).add(slug)
    rules: dict[int, list[str]] = {}
    rule_rows = await session.exec(
        select(ChatRule.chat_id, ChatRule.query)
        .where(col(ChatRule.chat_id).in_(ids))
        .order_by(col(ChatRule.id))
    )
    for chat_id, query in rule_rows.all():
        rules.setdefault(chat_id, []).append(query)
    return {
        chat.id: SubscribedChat(
            chat, frozenset(topics.get(chat.id, ())), tuple(rules.get(chat.id, ()))
        )
        for chat in chats
    }


async def subscription_of(session: AsyncSession, chat_id: int) -> SubscribedChat | None:
    """One chat's subscription (whatever its state), or None if the chat is unknown."""
    chat = await session.get(Chat, chat_id)
    if chat is None:
        return None
    topics = await chat_topics(session, chat_id)
    rules = await chat_rules(session, chat_id)
    return SubscribedChat(chat, frozenset(topics), tuple(r.query for r in rules))


async def article_sources(session: AsyncSession, article_ids: Sequence[int]) -> dict[int, str]:
    """For each article, the title of the first feed that carried it ("" if untitled)."""
    if not article_ids:
        return {}
    query = (
        select(ArticleSource.article_id, Feed.title)
        .join(Feed, col(Feed.id) == col(ArticleSource.feed_id))
        .where(col(ArticleSource.article_id).in_(list(article_ids)))
        .order_by(col(ArticleSource.id))
    )
    found: dict[int, str] = {}
    for article_id, title in (await session.exec(query)).all():
        found.setdefault(article_id, title or "")
    return found


# ------------------------------------------------------------------------------ lookups


async def recent_articles(
    session: AsyncSession, *, limit: int = SCAN_LIMIT, max_id: int | None = None
) -> Sequence[Article]:
    """The newest articles by publication time (then id), newest first; with ``max_id``,
    only those stored up to that id (so a list's later pages do not shift as news arrives).
    """
    query = select(Article)
    if max_id is not None:
        query = query.where(col(Article.id) <= max_id)
    query = query.order_by(col(Article.published).desc(), col(Article.id).desc()).limit(limit)
    return (await session.exec(query)).all()


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    """What subscription matching reads of an article (bot.matching), as plain values."""

    id: int
    title: str
    text: str
    topics: list[str]
    is_event: bool


async def recent_article_facts(
    session: AsyncSession, *, limit: int = SCAN_LIMIT, max_id: int | None = None, text: bool = True
) -> list[ArticleFacts]:
    """``recent_articles``' articles, in its order, as ArticleFacts: plain rows, not ORM
    objects (hundreds of them), and without the text when ``text`` is False (a chat with
    topics only does not need it)."""
    body = col(Article.text) if text else sa.literal("", sa.Text)
    query = sa.select(
        col(Article.id), col(Article.title), body, col(Article.topics), col(Article.is_event)
    )
    if max_id is not None:
        query = query.where(col(Article.id) <= max_id)
    query = query.order_by(col(Article.published).desc(), col(Article.id).desc()).limit(limit)
    rows = (await (await session.connection()).execute(query)).all()
    return [
        ArticleFacts(i, title, body or "", list(topics or []), bool(is_event))
        for i, title, body, topics, is_event in rows
        if i is not None
    ]


async def newest_article_id(session: AsyncSession) -> int | None:
    """The highest article id: what a list made now can see."""
    return (await session.exec(select(sa.func.max(Article.id)))).one()


async def articles_by_id(session: AsyncSession, article_ids: Collection[int]) -> dict[int, Article]:
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    rows = (await session.exec(select(Article).where(col(Article.id).in_(ids)))).all()
    return {a.id: a for a in rows if a.id is not None}


async def search_articles(
    session: AsyncSession,
    include: Sequence[str],
    exclude: Sequence[str] = (),
    *,
    limit: int = 10,
    offset: int = 0,
    max_id: int | None = None,
) -> Sequence[Article]:
    """Articles whose title or text contains every ``include`` term and no ``exclude`` term
    (case-insensitive substrings; LIKE wildcards in terms are taken literally), newest first;
    ``offset``, ``max_id`` as for a list's later pages.

    A scan of every article: /search uses the index (``db.search``); this is the baseline
    ``benchmarks/search.py`` measures it against.
    """
    if not include:
        return []
    query = select(Article)
    if max_id is not None:
        query = query.where(col(Article.id) <= max_id)
    for term in include:
        query = query.where(_contains(term))
    for term in exclude:
        query = query.where(sa.not_(_contains(term)))
    query = (
        query.order_by(col(Article.published).desc(), col(Article.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.exec(query)).all()


def _contains(term: str) -> sa.ColumnElement[bool]:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return sa.or_(
        col(Article.title).ilike(pattern, escape="\\"),
        col(Article.text).ilike(pattern, escape="\\"),
    )


async def upcoming_events(
    session: AsyncSession, *, today: date, limit: int = SCAN_LIMIT
) -> Sequence[Article]:
    """Event articles whose event has not ended by ``today``, soonest first."""
    last_day = sa.func.coalesce(col(Article.event_end), col(Article.event_start))
    query = (
        select(Article)
        .where(col(Article.is_event).is_(True), last_day >= today)
        .order_by(col(Article.event_start), col(Article.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


# ------------------------------------------------------------------------------ searches


async def save_search(session: AsyncSession, chat_id: int, query: str, *, now: datetime) -> int:
    """The id of the chat's saved search for ``query`` (created or refreshed); only the
    newest KEEP_SEARCHES per chat are kept."""
    found = (
        await session.exec(
            select(ChatSearch).where(ChatSearch.chat_id == chat_id, ChatSearch.query == query)
        )
    ).first()
    if found is None:
        found = ChatSearch(chat_id=chat_id, query=query, created_at=now)
        session.add(found)
    else:
        found.created_at = now
    await session.flush()
    assert found.id is not None
    kept = (
        select(ChatSearch.id)
        .where(ChatSearch.chat_id == chat_id)
        .order_by(col(ChatSearch.created_at).desc(), col(ChatSearch.id).desc())
        .limit(KEEP_SEARCHES)
    )
    keep = [i for i in (await session.exec(kept)).all() if i is not None]
    await session.exec(
        delete(ChatSearch).where(
            col(ChatSearch.chat_id) == chat_id, col(ChatSearch.id).not_in(keep)
        )
    )
    return found.id


async def saved_search_id(session: AsyncSession, chat_id: int, query: str) -> int | None:
    """The id of the chat's saved search for ``query``; None when it has none (a read:
    a repeated /search can answer before it writes)."""
    found = await session.exec(
        select(ChatSearch.id).where(ChatSearch.chat_id == chat_id, ChatSearch.query == query)
    )
    return found.first()


async def refresh_search(session: AsyncSession, search_id: int, *, now: datetime) -> None:
    """A saved search used again counts as new (``save_search`` keeps the newest)."""
    await session.exec(
        sa.update(ChatSearch).where(col(ChatSearch.id) == search_id).values(created_at=now)
    )


async def saved_search(session: AsyncSession, chat_id: int, search_id: int) -> str | None:
    """The query of one of the chat's saved searches; None if it is gone or not the chat's."""
    found = await session.get(ChatSearch, search_id)
    return found.query if found is not None and found.chat_id == chat_id else None


def _taxonomy_order(slugs: Sequence[str]) -> list[str]:
    chosen = set(slugs)
    return [t.slug for t in TOPICS if t.slug in chosen]
