"""Related articles: the few others that share the most events, crew and tags with an article."""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from typing import NamedTuple, Sequence

from ..model import Article
from .slugs import make_slug

LIMIT = 3
WEIGHTS = {"event": 3, "person": 2, "tag": 1}
"""A shared event says most about overlap, a shared person less, a shared tag least."""
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MICROSECOND = dt.timedelta(microseconds=1)
MAX_SPLIT_FEATURES = 12
"""Past this many features an article's candidates are counted one by one instead of split by
feature: splitting costs up to two set operations per subset of its features."""


def _features(article: Article) -> set[tuple[str, str]]:
    return ({("event", e) for e in article.events} | {("person", p) for p in article.people}
            | {("tag", make_slug(t)) for t in article.tags})


def related_all(articles: Sequence[Article], limit: int = LIMIT) -> dict[str, list[Article]]:
    """For every article, up to `limit` others with something in common, best first, closest in time on ties.

    The score of another article is the summed weight of the features both have; ties go to the
    one closest in time, then to the first slug. Each feature keeps its holders as a bit set over
    the articles in (date, slug) order, so for one article the others that share exactly a given
    part of its features are a few bit operations away, and the closest of them in time are the
    set bits nearest its own position. The work grows with the articles and the size of their
    feature sets, not with how many articles share a popular tag.
    """
    return Related(limit).of(articles)


class Ranking(NamedTuple):
    """What ranking reads of an article: its date, its slug and its features."""

    date: dt.datetime
    slug: str
    features: frozenset[tuple[str, str]]


class Related:
    """The related articles of a site, kept from one build to the next of a session.

    An article's list can change only when an article sharing one of its features changes its
    features, date or slug, appears or goes: after an edit, only the lists of the articles that
    share a feature with the edited ones (before or after the edit) are ranked again.
    """

    def __init__(self, limit: int = LIMIT):
        self.limit = limit
        self._seen: dict[str, Ranking] = {}
        """By source: what ranking read of each article last time."""
        self._records: dict[str, Article] = {}
        """By source: the record last seen, whose ranking is known."""
        self._ranked: dict[str, list[str]] = {}
        self._parts: dict[str, Related] = {}

    def part(self, name: str) -> "Related":
        """A ranking kept apart for one part of a site: the articles of one of its languages."""
        return self._parts.setdefault(name, Related(self.limit))

    def _ranking(self, article: Article) -> Ranking:
        if self._records.get(article.source) is article:
            return self._seen[article.source]
        return Ranking(article.date, article.slug, frozenset(_features(article)))

    def of(self, articles: Sequence[Article]) -> dict[str, list[Article]]:
        """Every article's related articles (by source), ranking again only what an edit can change."""
        rankings = {a.source: self._ranking(a) for a in articles}
        moved = {source for source, ranking in rankings.items()
                 if self._seen.get(source) != ranking}
        moved |= self._seen.keys() - rankings.keys()
        if moved or not self._ranked:
            self._rank(articles, rankings, moved)
        self._seen = rankings
        self._records = by_source = {a.source: a for a in articles}
        return {a.source: [by_source[other] for other in self._ranked[a.source]] for a in articles}

    def _rank(self, articles: Sequence[Article], rankings: dict[str, Ranking], moved: set[str]) -> None:
        """Rank again the articles that share a feature with one that moved (all of them the first time)."""
        touched: set[tuple[str, str]] = set()
        for source in moved:
            if source in self._seen:
                touched |= self._seen[source].features
            if source in rankings:
                touched |= rankings[source].features
        timeline = _Timeline(sorted(articles, key=lambda a: (a.date, a.slug)))
        order = timeline.order
        features = [rankings[a.source].features for a in order]
        positions: dict[tuple[str, str], list[int]] = {}
        for index, owned in enumerate(features):
            for feature in owned:
                positions.setdefault(feature, []).append(index)
        holders = {feature: _bit_set(found) for feature, found in positions.items()}
        ranked: dict[str, list[str]] = {}
        for index, owned in enumerate(features):
            source = order[index].source
            if source in self._ranked and source not in moved and not (owned & touched):
                ranked[source] = self._ranked[source]
                continue
            weighted = sorted(((WEIGHTS[f[0]], holders[f]) for f in owned), key=lambda item: -item[0])
            if len(weighted) > MAX_SPLIT_FEATURES:
                found = _counted(index, weighted, timeline, self.limit)
            else:
                found = _ranked(index, weighted, timeline, self.limit)
            ranked[source] = [order[i].source for i in found]
        self._ranked = ranked


def _bit_set(positions: list[int]) -> int:
    """The int with these bits set (in increasing order), built in one pass over its bytes."""
    raw = bytearray(positions[-1] // 8 + 1)
    for position in positions:
        raw[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(raw, "little")


class _Timeline:
    """Articles in (date, slug) order, with the span of positions that share each position's date."""

    def __init__(self, order: list[Article]):
        self.order = order
        self.slugs = [a.slug for a in order]
        self.micros = [(a.date - EPOCH) // MICROSECOND for a in order]
        """Whole microseconds, so a distance in seconds is one exact division, as timedelta.total_seconds() does it."""
        self.start, self.end = [0] * len(order), [0] * len(order)
        first = 0
        for index in range(1, len(order) + 1):
            if index == len(order) or self.micros[index] != self.micros[first]:
                for j in range(first, index):
                    self.start[j], self.end[j] = first, index
                first = index

    def seconds(self, here: int, there: int) -> float:
        """The distance in time between two positions, in seconds."""
        return abs(self.micros[there] - self.micros[here]) / 1_000_000

    def lowest(self, found: int, first: int, stop: int, count: int) -> list[int]:
        """Up to `count` positions in [first, stop) whose bits are set, lowest first."""
        bits = (found >> first) & ((1 << (stop - first)) - 1)
        out = []
        while bits and len(out) < count:
            low = bits & -bits
            out.append(first + low.bit_length() - 1)
            bits ^= low
        return out

    def nearest(self, here: int, found: int, count: int) -> list[int]:
        """The `count` positions among the set bits of `found` closest in time to `here`, then by slug.

        Same-date groups are taken from the nearest outwards on both sides, until `count` are in
        hand and the next group is strictly further away than the last one taken.
        """
        slugs, start, end = self.slugs, self.start, self.end
        picked = [(0.0, slugs[i], i) for i in self.lowest(found, start[here], end[here], count)]
        taken, last = len(picked), 0.0
        below = found & ((1 << start[here]) - 1)
        above, base = found >> end[here], end[here]
        inf = float("inf")
        while below or above:
            top = below.bit_length() - 1
            before = self.seconds(here, top) if below else inf
            low = (above & -above).bit_length() - 1 + base if above else -1
            after = self.seconds(here, low) if above else inf
            distance = min(before, after)
            if taken >= count and distance != last:
                break
            if before == distance:
                group = self.lowest(below, start[top], top + 1, count)
                picked += [(distance, slugs[i], i) for i in group]
                taken += len(group)
                below &= (1 << start[top]) - 1
            if after == distance:
                group = self.lowest(found, low, end[low], count)
                picked += [(distance, slugs[i], i) for i in group]
                taken += len(group)
                above >>= end[low] - base
                base = end[low]
            last = distance
        picked.sort()
        return [i for _, _, i in picked[:count]]


def _ranked(here: int, owned: list[tuple[int, int]], timeline: _Timeline, limit: int) -> list[int]:
    """Split the articles sharing any feature by which of this article's features they share,
    best possible score first, and take each score's closest ones in time until `limit` are found.

    A node is (minus the best score its articles can still reach, insertion number, how many of the
    features are decided, the score of those shared, bit set of its articles).
    """
    if not owned or limit <= 0:
        return []
    found = 0
    for _, bits in owned:
        found |= bits
    found &= ~(1 << here)
    if not found:
        return []
    rest = [0] * (len(owned) + 1)
    for k in range(len(owned) - 1, -1, -1):
        rest[k] = rest[k + 1] + owned[k][0]
    heap = [(-rest[0], 0, 0, 0, found)]
    counter = 1
    result: list[int] = []
    level, members = None, 0
    while heap and len(result) < limit:
        bound, _, k, score, bits = heapq.heappop(heap)
        if level is not None and -bound < level:
            result += timeline.nearest(here, members, limit - len(result))
            level, members = None, 0
            if len(result) >= limit:
                break
        if k == len(owned):
            level, members = score, members | bits
            continue
        weight, holding = owned[k]
        inside = bits & holding
        if inside:
            heapq.heappush(heap, (bound, counter, k + 1, score + weight, inside))
            counter += 1
        outside = bits ^ inside
        if outside:
            heapq.heappush(heap, (bound + weight, counter, k + 1, score, outside))
            counter += 1
    if level is not None and len(result) < limit:
        result += timeline.nearest(here, members, limit - len(result))
    return result


def _counted(here: int, owned: list[tuple[int, int]], timeline: _Timeline, limit: int) -> list[int]:
    """Score every article sharing a feature one by one: for articles with very many features."""
    scores: Counter[int] = Counter()
    for weight, bits in owned:
        marks = bin(bits)[:1:-1]
        index = marks.find("1")
        while index >= 0:
            scores[index] += weight
            index = marks.find("1", index + 1)
    scores.pop(here, None)
    return sorted(scores, key=lambda i: (-scores[i], timeline.seconds(here, i), timeline.slugs[i]))[:limit]
