"""Related articles: the indexed ranking picks exactly what scoring every pair of articles picks."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from microsite.features import related
from microsite.markdown.bodies import Html
from microsite.model import Article
from microsite.features.slugs import make_slug


def reference(articles, limit=related.LIMIT):
    """Score every other article, sort all of them by (score desc, distance in time, slug): the oracle."""
    def features(article):
        return ({("event", e) for e in article.events} | {("person", p) for p in article.people}
                | {("tag", make_slug(t)) for t in article.tags})

    result = {}
    for article in articles:
        mine = features(article)
        scored = []
        for other in articles:
            if other.source == article.source:
                continue
            score = sum(related.WEIGHTS[kind] for kind, _ in mine & features(other))
            if score:
                scored.append((-score, abs((other.date - article.date).total_seconds()), other.slug, other))
        scored.sort(key=lambda item: item[:3])
        result[article.source] = [item[3] for item in scored[:limit]]
    return result


def make_article(slug, date, tags=(), crew=(), events=(), mentions=()):
    return Article(source=f"content/articles/{slug}.md", slug=slug, title=slug, date=date, updated=None, summary="",
                   tags=tuple(tags), crew=tuple(crew), draft=False, image=None, image_alt=None, body=Html(""), toc=(),
                   words=0, events=tuple(events), mentions=tuple(mentions))


@st.composite
def sites(draw) -> list[Article]:
    """Articles with few distinct dates (many ties), shared and duplicate feature sets, some with none."""
    tags = [f"Tag {n}" for n in range(draw(st.integers(1, 8)))] + ["tag-0", "TAG 1"]  # different names, same slug
    people = [f"p{n}" for n in range(draw(st.integers(1, 6)))]
    events = [f"e{n}" for n in range(draw(st.integers(0, 4)))]
    base = dt.datetime(2021, 10, 5, tzinfo=dt.timezone.utc)
    dates = draw(st.lists(st.builds(lambda hours, times, seconds: base + dt.timedelta(hours=hours * times, seconds=seconds),
                                    st.sampled_from([-48, -24, -12, -1, 0, 1, 12, 24, 48]), st.integers(0, 3), st.sampled_from([0, 0, 0, 1])),
                          min_size=1, max_size=6))

    def some(names: list[str], most: int) -> st.SearchStrategy[list[str]]:
        return st.lists(st.sampled_from(names), unique=True, max_size=most) if names else st.just([])

    # a few feature sets, the empty one among them: articles often share one, so scores tie
    pool = [([], [], [], []), *draw(st.lists(st.tuples(some(tags, 3), some(people, 3), some(events, 2), some(people, 2)),
                                             min_size=1, max_size=8))]
    articles = [make_article(f"a{draw(st.integers(0, 999)):03d}-{n}", draw(st.sampled_from(dates)), *draw(st.sampled_from(pool)))
                for n in range(draw(st.integers(0, 60)))]
    return draw(st.permutations(articles))


@settings(max_examples=examples(400))
@given(sites(), st.sampled_from([1, 2, 3, 3, 5]))
def test_related_matches_the_pairwise_reference(articles, limit):
    assert related.related_all(articles, limit) == reference(articles, limit)


def test_related_with_more_features_than_are_split_matches_the_reference():
    rng = random.Random(7)
    base = dt.datetime(2021, 10, 5, tzinfo=dt.timezone.utc)
    tags = [f"t{n}" for n in range(30)]
    articles = [make_article(f"a{n:03d}", base + dt.timedelta(days=rng.randint(0, 5)),
                             rng.sample(tags, rng.choice([1, 2, related.MAX_SPLIT_FEATURES + 1, 20])),
                             events=rng.sample(["e1", "e2"], rng.randint(0, 2)))
                for n in range(80)]
    assert any(len(a.tags) > related.MAX_SPLIT_FEATURES for a in articles)
    assert related.related_all(articles) == reference(articles)


def test_related_breaks_ties_by_time_then_slug():
    day = dt.datetime(2021, 10, 5, tzinfo=dt.timezone.utc)
    hour = dt.timedelta(hours=1)
    articles = [make_article("me", day, ["x"]), make_article("zeta", day, ["x"]), make_article("beta", day + hour, ["x"]),
                make_article("alpha", day - hour, ["x"]), make_article("gamma", day - 2 * hour, ["x"]),
                make_article("crew", day + 5 * hour, ["x"], crew=["p"]), make_article("none", day),
                make_article("me-too", day, ["x"], crew=["p"])]
    ranked = related.related_all(articles)
    assert [a.slug for a in ranked["content/articles/me.md"]] == ["me-too", "zeta", "alpha"]
    assert [a.slug for a in ranked["content/articles/me-too.md"]] == ["crew", "me", "zeta"]
    assert ranked["content/articles/none.md"] == []


def test_related_ties_on_distance_as_measured_in_seconds():
    """Microseconds apart thousands of years away measure the same in seconds: the slug decides."""
    start = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
    far = dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)
    articles = [make_article("me", start, ["x"])]
    articles += [make_article(f"b{9 - n}", far + dt.timedelta(microseconds=n), ["x"]) for n in range(1, 6)]
    got = related.related_all(articles, 4)["content/articles/me.md"]
    assert got == reference(articles, 4)["content/articles/me.md"]
    assert [a.slug for a in got] == ["b4", "b5", "b6", "b7"]
