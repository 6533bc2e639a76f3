"""The mission timeline: days, UTC and local times across zones and the date line, and the .ics file."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from conftest import MISSION_YAML, article, broken_links, text
from microsite.features.timeline import duration

UTC = dt.timezone.utc

EVENTS = """\
  events:
    - id: launch
      time: 2021-10-05T08:55:02Z
      timezone: Asia/Qyzylorda
      place: Baikonur Cosmodrome
      title: Launch
      detail: Lift-off, with a comma; and a semicolon.
    - id: kiritimati
      time: 2021-10-05T12:00:00Z
      timezone: Pacific/Kiritimati
      title: Seen from Kiritimati
    - id: pago
      time: 2021-10-06T05:00:00Z
      timezone: Pacific/Pago_Pago
      title: Seen from Pago Pago
    - id: landing
      time: 2021-10-17T04:35:00Z
      timezone: Asia/Almaty
      title: Landing
      since: launch
      since_label: in flight
    - id: press
      time: 2021-10-19
      timezone: Europe/Moscow
      title: Press conference
"""


def _mission(events: str = EVENTS) -> str:
    start = MISSION_YAML.index("  events:\n")
    end = MISSION_YAML.index("crew:\n")
    return MISSION_YAML[:start] + events + MISSION_YAML[end:]


@pytest.fixture
def timeline_site(site):
    site.write("content/mission.yaml", _mission())
    site.write("content/articles/landing.md", article("The landing", "2021-10-17T09:00:00Z", "Home again.", events="[landing, press]"))
    site.write("content/articles/launch.md", article("The launch", "2021-10-05", "Up they go.", events="[launch]"))
    return site


def test_days_local_times_and_the_date_line(timeline_site):
    timeline_site.build()
    page = timeline_site.page("mission/index.html")
    days = [text(h) for h in page.select(".timeline-date")]
    assert days == ["Tuesday 5 October 2021", "Wednesday 6 October 2021", "Sunday 17 October 2021", "Tuesday 19 October 2021"]
    assert [li["id"] for li in page.select(".timeline-day")] == ["day-2021-10-05", "day-2021-10-06", "day-2021-10-17", "day-2021-10-19"]

    def event(event_id):
        return page.find(id=event_id)

    assert text(event("launch").select_one(".event-utc")) == "08:55 UTC"
    assert text(event("launch").select_one(".event-local")) == "13:55 local time (UTC+5)"
    assert text(event("kiritimati").select_one(".event-local")) == "02:00 on Wednesday 6 October local time (UTC+14) (next day there)"
    assert text(event("pago").select_one(".event-local")) == "18:00 on Tuesday 5 October local time (SST, UTC-11) (previous day there)"
    assert text(event("landing").select_one(".event-local")) == "10:35 local time (UTC+6)"
    assert event("press").select_one(".event-local") is None
    assert text(event("kiritimati").select_one(".event-gap")) == "3 hours 5 minutes later"
    assert text(event("landing").select_one(".event-since")) == "11 days 20 hours in flight"
    assert text(event("press").select_one(".event-gap")) == "2 days later"
    assert event("launch").select_one(".event-local time")["datetime"] == "2021-10-05T08:55:02Z"
    assert [a["href"] for a in event("press").select(".event-articles a")] == ["/articles/landing/"]
    assert [a["href"] for a in event("launch").select(".event-articles a")] == ["/articles/launch/"]
    assert event("landing").select_one(".event-title a")["href"] == "#landing"
    assert broken_links(timeline_site.output) == []


def test_ics_parses_back_with_icalendar(timeline_site):
    timeline_site.build()
    data = (timeline_site.output / "mission/events.ics").read_bytes()
    assert all(len(line) <= 75 for line in data.split(b"\r\n")), "lines are folded at 75 octets"
    calendar = icalendar.Calendar.from_ical(data)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert sorted(events) == ["kiritimati@example.org", "landing@example.org", "launch@example.org",
                              "pago@example.org", "press@example.org"]
    launch = events["launch@example.org"]
    assert launch.decoded("DTSTART") == dt.datetime(2021, 10, 5, 8, 55, 2, tzinfo=UTC)
    assert str(launch["SUMMARY"]) == "Launch"
    assert str(launch["DESCRIPTION"]) == "Lift-off, with a comma; and a semicolon."
    assert str(launch["LOCATION"]) == "Baikonur Cosmodrome"
    assert str(launch["URL"]) == "https://example.org/mission/#launch"
    press = events["press@example.org"]
    assert press.decoded("DTSTART") == dt.date(2021, 10, 19)
    assert press.decoded("DTEND") == dt.date(2021, 10, 20)


def test_ics_folds_long_non_ascii_text(site):
    long = "Юлия Пересильд и Клим Шипенко " * 8
    site.write("content/mission.yaml", _mission(f"  events:\n    - id: long\n      time: 2021-10-05T08:55:02Z\n      title: Long\n      detail: {long.strip()}\n"))
    site.build()
    data = (site.output / "mission/events.ics").read_bytes()
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert str(event["DESCRIPTION"]) == long.strip()


@pytest.mark.parametrize("minutes, said", [
    (1, "1 minute"), (59, "59 minutes"), (60, "1 hour"), (207, "3 hours 27 minutes"),
    (24 * 60, "1 day"), (16572, "11 days 12 hours"), (17020, "11 days 20 hours"), (45 * 24 * 60, "45 days"),
])
def test_durations_read_naturally(minutes, said):
    assert duration(dt.timedelta(minutes=minutes)) == said


def test_default_timeline_runs_from_launch_to_landing(built_default_site):
    page = built_default_site.page("mission/index.html")
    launch, landing = page.find(id="ms19-launch"), page.find(id="ms18-landing")
    assert text(launch.select_one(".event-utc")) == "08:55 UTC"
    assert text(launch.select_one(".event-local")) == "13:55 local time (UTC+5)"
    assert text(landing.select_one(".event-utc")) == "04:35 UTC"
    assert text(landing.select_one(".event-local")) == "10:35 local time (UTC+6)"
    assert "from launch to landing" in text(landing.select_one(".event-since"))
    assert landing.select(".event-articles a")


@pytest.mark.parametrize("events, expected", [
    ("  events:\n    - id: a\n      time: 2021-10-05T08:55:02Z\n      timezone: Asia/Baikonur\n      title: A\n",
     "content/mission.yaml:10:7: unknown time zone 'Asia/Baikonur'"),
    ("  events:\n    - id: a\n      time: 2021-10-05T08:55:02Z\n      title: A\n      since: lunch\n",
     "content/mission.yaml:11:7: 'since' names unknown event id 'lunch'"),
])
def test_event_problems_have_their_place(site, events, expected):
    site.write("content/mission.yaml", _mission(events))
    result = site.build(expect=1)
    assert expected in result.err


def test_unknown_event_id_in_an_article_is_reported_in_place(site):
    site.write("content/articles/bad.md", "---\ntitle: Bad\ndate: 2021-10-05\nevents: [launch, lanch]\n---\n\nText.\n")
    result = site.build(expect=1)
    assert "content/articles/bad.md:4:18: unknown event id 'lanch'; did you mean 'launch'?" in result.err
