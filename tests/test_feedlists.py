"""Feed lists: URL-per-line files, OPML in and out, the shipped defaults."""

from __future__ import annotations

import pytest

from summaries.feedlists import (
    FeedListError,
    FeedRef,
    default_feeds,
    parse_feed_list,
    render_opml,
)

OPML = b"""<?xml version="1.0"?>
<opml version="1.0"><head><title>mine</title></head><body>
  <outline text="Science">
    <outline text="Nature" type="rss" xmlUrl="https://www.nature.com/nature.rss"/>
    <outline text="Broken" type="rss" xmlUrl="javascript:alert(1)"/>
  </outline>
  <outline text="Phys" type="rss" xmlUrl="https://phys.org/rss-feed/"/>
</body></opml>"""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"https://a.example/rss\n", [FeedRef("https://a.example/rss")]),
        (
            b"# comment\n\nhttps://a.example/rss | A feed\n",
            [FeedRef("https://a.example/rss", "A feed")],
        ),
        (b"https://a.example/rss  # why we read it\n", [FeedRef("https://a.example/rss")]),
        (b"https://a.example/#frag\n", [FeedRef("https://a.example/#frag")]),
        (
            b"\xef\xbb\xbfhttps://a.example/rss\nhttps://a.example/rss\n",
            [FeedRef("https://a.example/rss")],
        ),
        (
            OPML,
            [
                FeedRef("https://www.nature.com/nature.rss", "Nature"),
                FeedRef("https://phys.org/rss-feed/", "Phys"),
            ],
        ),
    ],
)
def test_feed_lists_are_read_from_text_or_opml(content: bytes, expected: list[FeedRef]) -> None:
    assert parse_feed_list(content) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ftp://a.example/rss\n", r"line 1: not an http\(s\) URL"),
        (b"https://ok.example/\nnot a url\n", "line 2"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_a_bad_feed_list_says_which_line(content: bytes, message: str) -> None:
    with pytest.raises(FeedListError, match=message):
        parse_feed_list(content)


def test_opml_export_reads_back_the_same_feeds() -> None:
    feeds = [
        FeedRef("https://a.example/rss?x=1&y=2", "A & B <news>"),
        FeedRef("https://b.example/"),
    ]
    assert parse_feed_list(render_opml(feeds).encode()) == [
        feeds[0],
        FeedRef("https://b.example/", "https://b.example/"),
    ]


def test_the_default_list_has_real_science_feeds_with_titles() -> None:
    feeds = default_feeds()
    assert len(feeds) >= 10
    assert all(f.url.startswith("https://") and f.title for f in feeds)
    assert len({f.url for f in feeds}) == len(feeds)
