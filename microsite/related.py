"""Related articles: the few others that share the most events, crew and tags with an article."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from .model import Article
from .slugs import make_slug

LIMIT = 3
WEIGHTS = {"event": 3, "person": 2, "tag": 1}
"""A shared event says most about overlap, a shared person less, a shared tag least."""


def _features(article: Article) -> set[tuple[str, str]]:
    return ({("event", e) for e in article.events} | {("person", p) for p in article.people}
            | {("tag", make_slug(t)) for t in article.tags})


def related_all(articles: Sequence[Article], limit: int = LIMIT) -> dict[str, list[Article]]:
    """For every article, up to `limit` others with something in common, best first, closest in time on ties.

    Articles are found through an index from each event, person and tag to the articles that have
    it, so the work grows with the overlaps, not with the square of the number of articles.
    """
    features = {a.source: _features(a) for a in articles}
    holders: dict[tuple[str, str], list[Article]] = {}
    for article in articles:
        for feature in features[article.source]:
            holders.setdefault(feature, []).append(article)
    by_source = {a.source: a for a in articles}
    result = {}
    for article in articles:
        scores: Counter[str] = Counter()
        for feature in features[article.source]:
            for other in holders[feature]:
                if other.source != article.source:
                    scores[other.source] += WEIGHTS[feature[0]]
        ranked = sorted(scores.items(), key=lambda item: (-item[1], abs((by_source[item[0]].date - article.date).total_seconds()),
                                                          by_source[item[0]].slug))
        result[article.source] = [by_source[source] for source, _ in ranked[:limit]]
    return result
