"""Policies as data: every preset loads, its dates match dates worked out by hand from a calendar (never by
the code under test), and mistakes in a policy file are reported with the file and the key."""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.policy import PolicyError, explain, find_policy, load_policies, load_policy

POLICIES = Path(__file__).resolve().parent.parent / "rules" / "policies"
LONDON = ZoneInfo("Europe/London")
WED_23_DEC_2026 = datetime(2026, 12, 23, 16, 30, tzinfo=LONDON)  # before Christmas and New Year
MON_15_MAR_2027 = datetime(2027, 3, 15, 10, 0, tzinfo=LONDON)  # before St Patrick's Day and Easter

PRESETS = {
    "care-provider-landlord",
    "case-management-cymru",
    "cheshire-west-adult-social-care",
    "england-asc-2009",
    "help-and-care",
    "lgsco-hos-code",
    "nipso-model",
    "spso-model",
    "wales-ssc-2014",
    "wivey-cares",
}


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.toml")), ids=lambda p: p.name)
def test_every_policy_file_loads(path: Path) -> None:
    policy = load_policy(path)
    assert policy.stages and policy.kinds and policy.source.document


def test_the_presets_are_all_there_by_name() -> None:
    assert set(load_policies(POLICIES)) == PRESETS


LANDLORD = "care-provider-landlord"

# (policy, stage, received, acknowledge due, respond due, latest with extension). Working days counted by hand
# from the calendar: in England, after Wed 23 Dec 2026 come Thu 24, Tue 29, Wed 30, Thu 31 Dec, Mon 4 Jan...;
# after Mon 15 Mar 2027 come Tue 16 ... Thu 25, then (Good Friday, Easter Monday) Tue 30, Wed 31 Mar...
TIMELINES = [
    ("lgsco-hos-code", "stage1", WED_23_DEC_2026, date(2027, 1, 4), date(2027, 1, 18), date(2027, 2, 1)),
    ("lgsco-hos-code", "stage2", WED_23_DEC_2026, date(2027, 1, 4), date(2027, 2, 1), date(2027, 3, 1)),
    ("lgsco-hos-code", "stage1", MON_15_MAR_2027, date(2027, 3, 22), date(2027, 4, 7), date(2027, 4, 21)),
    ("lgsco-hos-code", "stage2", MON_15_MAR_2027, date(2027, 3, 22), date(2027, 4, 21), date(2027, 5, 20)),
    ("england-asc-2009", 0, WED_23_DEC_2026, date(2026, 12, 30), date(2027, 6, 22), None),
    ("england-asc-2009", 0, MON_15_MAR_2027, date(2027, 3, 18), date(2027, 9, 14), None),
    ("wales-ssc-2014", "local_resolution", WED_23_DEC_2026, date(2026, 12, 29), date(2027, 1, 13), None),
    ("wales-ssc-2014", "local_resolution", MON_15_MAR_2027, date(2027, 3, 17), date(2027, 4, 2), None),
    ("wales-ssc-2014", "formal_investigation", WED_23_DEC_2026, date(2026, 12, 29), date(2027, 2, 1), None),
    ("wales-ssc-2014", "formal_investigation", MON_15_MAR_2027, date(2027, 3, 17), date(2027, 4, 21), None),
    # Scotland: 1 and 4 Jan 2027 are holidays, Easter Monday is not.
    ("spso-model", "frontline", WED_23_DEC_2026, None, date(2027, 1, 5), date(2027, 1, 12)),
    ("spso-model", "investigation", WED_23_DEC_2026, date(2026, 12, 30), date(2027, 1, 26), None),
    ("spso-model", "frontline", MON_15_MAR_2027, None, date(2027, 3, 22), date(2027, 3, 30)),
    ("spso-model", "investigation", MON_15_MAR_2027, date(2027, 3, 18), date(2027, 4, 13), None),
    # Northern Ireland: St Patrick's Day (Wed 17 Mar 2027) as well as Easter.
    ("nipso-model", "early_resolution", WED_23_DEC_2026, None, date(2027, 1, 4), date(2027, 1, 11)),
    ("nipso-model", "investigation", WED_23_DEC_2026, date(2026, 12, 30), date(2027, 1, 25), None),
    ("nipso-model", "early_resolution", MON_15_MAR_2027, None, date(2027, 3, 23), date(2027, 4, 1)),
    ("nipso-model", "investigation", MON_15_MAR_2027, date(2027, 3, 19), date(2027, 4, 15), None),
    # Ten calendar days from 23 Dec is Sat 2 Jan; brought back past New Year's Day to Thu 31 Dec.
    ("wivey-cares", 0, WED_23_DEC_2026, None, date(2026, 12, 31), None),
    ("wivey-cares", 0, MON_15_MAR_2027, None, date(2027, 3, 25), None),
    (LANDLORD, "stage1", WED_23_DEC_2026, date(2027, 1, 4), date(2027, 1, 11), date(2027, 1, 25)),
    (LANDLORD, "stage2", WED_23_DEC_2026, date(2027, 1, 4), date(2027, 2, 1), date(2027, 3, 1)),
    (LANDLORD, "stage1", MON_15_MAR_2027, date(2027, 3, 22), date(2027, 3, 31), date(2027, 4, 14)),
    (LANDLORD, "stage2", MON_15_MAR_2027, date(2027, 3, 22), date(2027, 4, 21), date(2027, 5, 20)),
    ("case-management-cymru", "formal", WED_23_DEC_2026, date(2026, 12, 30), date(2027, 1, 20), None),
    ("case-management-cymru", "ri_review", WED_23_DEC_2026, date(2026, 12, 30), date(2027, 1, 6), None),
    ("case-management-cymru", "formal", MON_15_MAR_2027, date(2027, 3, 22), date(2027, 4, 12), None),
    # 14 days from 15 Mar is Easter Monday 29 Mar: back past Good Friday to Thu 25 Mar.
    ("case-management-cymru", "ri_review", MON_15_MAR_2027, date(2027, 3, 22), date(2027, 3, 25), None),
    ("cheshire-west-adult-social-care", 0, WED_23_DEC_2026, date(2026, 12, 30), date(2027, 6, 22), None),
    ("cheshire-west-adult-social-care", 0, MON_15_MAR_2027, date(2027, 3, 18), date(2027, 9, 14), None),
    ("help-and-care", "stage1", WED_23_DEC_2026, date(2026, 12, 30), date(2027, 1, 20), None),
    ("help-and-care", "stage2", WED_23_DEC_2026, date(2026, 12, 30), date(2027, 1, 18), None),
    ("help-and-care", "appeal", WED_23_DEC_2026, date(2026, 12, 30), None, None),
    ("help-and-care", "stage1", MON_15_MAR_2027, date(2027, 3, 18), date(2027, 4, 12), None),
    ("help-and-care", "stage2", MON_15_MAR_2027, date(2027, 3, 18), date(2027, 4, 7), None),
    ("help-and-care", "appeal", MON_15_MAR_2027, date(2027, 3, 18), None, None),
]


@pytest.fixture(scope="module")
def presets() -> dict:
    return load_policies(POLICIES)


@pytest.mark.parametrize(("name", "stage", "received", "acknowledge", "respond", "latest"), TIMELINES)
def test_preset_timelines(
    presets: dict,
    name: str,
    stage: str | int,
    received: datetime,
    acknowledge: date | None,
    respond: date | None,
    latest: date | None,
) -> None:
    timeline = presets[name].timeline(stage, received)
    assert (timeline.acknowledge_due, timeline.respond_due, timeline.latest_extended_due) == (
        acknowledge,
        respond,
        latest,
    )


@pytest.mark.parametrize(
    ("acknowledged", "respond", "latest"),
    [
        (datetime(2026, 12, 29, 9, 0, tzinfo=LONDON), date(2027, 1, 13), date(2027, 1, 27)),  # sent early
        # Sent on Sat 2 Jan: counted from that very day (Mon 4 is the 1st working day after), not from Monday.
        (datetime(2027, 1, 2, 10, 0, tzinfo=LONDON), date(2027, 1, 15), date(2027, 1, 29)),
    ],
)
def test_the_response_counts_from_the_actual_acknowledgement(
    presets: dict, acknowledged: datetime, respond: date, latest: date
) -> None:
    timeline = presets["lgsco-hos-code"].timeline("stage1", WED_23_DEC_2026, acknowledged)
    assert (timeline.respond_due, timeline.latest_extended_due, timeline.acknowledgement_assumed) == (
        respond,
        latest,
        False,
    )


def test_an_acknowledgement_not_yet_sent_is_assumed_on_its_due_date(presets: dict) -> None:
    timeline = presets["lgsco-hos-code"].timeline("stage1", WED_23_DEC_2026)
    assert timeline.acknowledgement_assumed and timeline.start_day == date(2026, 12, 23)


def test_stages_and_kinds_are_found_by_name_or_position(presets: dict) -> None:
    policy = presets["help-and-care"]
    assert policy.stage(2) is policy.stage("appeal") is policy.stages[-1]
    assert policy.next_stage("stage1") is policy.stage("stage2") and policy.next_stage("appeal") is None
    assert policy.kind("compliment").handling == "record" and policy.kind("complaint").starts_at == "stage1"
    with pytest.raises(KeyError, match="stage3"):
        policy.stage("stage3")
    with pytest.raises(KeyError, match="grumble"):
        policy.kind("grumble")


def test_find_policy(presets: dict) -> None:
    assert find_policy("spso-model", POLICIES).calendar.nation == "SCT"
    with pytest.raises(PolicyError, match='no policy named "nope"'):
        find_policy("nope", POLICIES)


def test_explain_gives_every_stage_with_its_dates(presets: dict) -> None:
    text = explain(presets["lgsco-hos-code"], WED_23_DEC_2026)
    stage1, stage2 = text.split("Stage 2 (stage2)")
    for expected in (
        "Acknowledgement due Mon 4 Jan 2027",
        "Response due Mon 18 Jan 2027",
        "Latest with extension: Mon 1 Feb 2027",
    ):
        assert expected in stage1
    # Stage 2 escalated Mon 18 Jan: 5 WD to Mon 25 Jan, 20 WD to Mon 22 Feb, 20 more to Mon 22 Mar.
    for expected in (
        "escalates on Mon 18 Jan 2027",
        "Acknowledgement due Mon 25 Jan 2027",
        "Response due Mon 22 Feb 2027",
        "Latest with extension: Mon 22 Mar 2027",
        "Housing Ombudsman Service",
        "Time limit for making a complaint: 12 months",
    ):
        assert expected in stage2


def test_explain_walks_three_stages_and_an_agreed_timescale(presets: dict) -> None:
    text = explain(presets["help-and-care"], WED_23_DEC_2026)
    # Stage 1 response: 28 days, Wed 20 Jan. Stage 2 from then: ack Mon 25 Jan, 15 WD to Wed 10 Feb.
    # Appeal from Wed 10 Feb: ack 3 WD, Mon 15 Feb; the response time is agreed case by case.
    for expected in (
        "Response due Wed 20 Jan 2027",
        "escalates on Wed 20 Jan 2027",
        "Acknowledgement due Mon 25 Jan 2027",
        "Response due Wed 10 Feb 2027",
        "Acknowledgement due Mon 15 Feb 2027",
        "timescale agreed with the complainant",
        "Charity Commission",
        "elected member: to the Chief Executive",
    ):
        assert expected in text


# A small, valid policy; each test below breaks one thing in it.
VALID = """
name = "test-policy"
title = "A test policy"
nation = "ENG"
cutoff = "17:00"

[source]
document = "Test document"

[roles]
officer = "the complaints officer"
reviewer = "the reviewer"

[kinds.complaint]
label = "Complaint"
handling = "case"

[[stages]]
name = "stage1"
label = "Stage 1"
handler = "officer"

[stages.acknowledge]
days = 5
unit = "working"

[stages.respond]
days = 10
unit = "working"
counted = "from_acknowledgement"

[[stages]]
name = "stage2"
label = "Stage 2"
handler = "reviewer"
different_handler_from_previous = true

[stages.respond]
days = 20
unit = "working"
counted = "from_receipt"

[[after_final_stage]]
name = "Local Government and Social Care Ombudsman"
website = "https://www.lgo.org.uk"
"""


def write(tmp_path: Path, text: str, name: str = "test.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_valid_policy_loads_and_honours_its_cutoff(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, VALID))
    # 17:30 is after the 17:00 cut-off: received Thu 24 Dec; 5 WD is Tue 5 Jan 2027.
    timeline = policy.timeline(0, datetime(2026, 12, 23, 17, 30, tzinfo=LONDON))
    assert timeline.acknowledge_due == date(2027, 1, 5)


@pytest.mark.parametrize(
    ("old", "new", "key", "complaint"),
    [
        (
            'days = 20\nunit = "working"',
            'days = "ten"\nunit = "working"',
            "stages[1].respond.days",
            'expected a positive whole number, got "ten"',
        ),
        (
            "days = 5\n",
            "days = -3\n",
            "stages[0].acknowledge.days",
            "expected a positive whole number, got -3",
        ),
        ("days = 5\n", "days = 0\n", "stages[0].acknowledge.days", "got 0"),
        (
            'days = 20\nunit = "working"',
            'days = 20\nunit = "weekdays"',
            "stages[1].respond.unit",
            'expected one of "working", "calendar", got "weekdays"',
        ),
        ("days = 5\n", "dayz = 5\n", "stages[0].acknowledge.dayz", "unknown key"),
        ('title = "A test policy"', 'titel = "A test policy"', "titel", "unknown key"),
        ('nation = "ENG"', 'nation = "UK"', "nation", '"ENG", "WLS", "SCT", "NIR", got "UK"'),
        ('cutoff = "17:00"', 'cutoff = "5pm"', "cutoff", 'a time of day such as "17:00", got "5pm"'),
        ('handler = "reviewer"', 'handler = "reveiwer"', "stages[1].handler", 'unknown role "reveiwer"'),
        ('handling = "case"', 'handling = "ticket"', "kinds.complaint.handling", 'got "ticket"'),
        (
            'counted = "from_receipt"',
            'counted = "from_receipt"\nmust_tell = ["ombudsman"]',
            "stages[1].respond.must_tell[0]",
            'got "ombudsman"',
        ),
        ('name = "stage2"', 'name = "stage1"', "stages[1].name", "already the name of an earlier stage"),
        (
            'handler = "officer"',
            'handler = "officer"\ndifferent_handler_from_previous = true',
            "stages[0].different_handler_from_previous",
            "first stage",
        ),
        (
            '[stages.acknowledge]\ndays = 5\nunit = "working"\n',
            "",
            "stages[0].respond.counted",
            "no [acknowledge] time",
        ),
        (
            'website = "https://www.lgo.org.uk"',
            'website = "www.lgo.org.uk"',
            "after_final_stage[0].website",
            "starting https://",
        ),
        (
            'unit = "working"\ncounted = "from_receipt"',
            'months = 6\nunit = "working"\ncounted = "from_receipt"',
            "stages[1].respond.days",
            "either days with a unit, or months",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, key: str, complaint: str
) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert complaint in str(caught.value)


def test_the_error_reads_like_the_file_key_and_what_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('days = 20\nunit = "working"', 'days = "ten"\nunit = "working"'))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == f'{path}: stages[1].respond.days: expected a positive whole number, got "ten"'


def test_missing_stages_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, VALID[: VALID.index("[[stages]]")])
    with pytest.raises(PolicyError, match=r"test\.toml: stages: missing"):
        load_policy(path)


def test_a_policy_must_say_where_to_go_after_the_last_stage(tmp_path: Path) -> None:
    path = write(tmp_path, VALID[: VALID.index("[[after_final_stage]]")])
    with pytest.raises(PolicyError, match=r"test\.toml: after_final_stage: missing"):
        load_policy(path)


def test_not_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('title = "A test policy"', 'title = "A test policy'))
    with pytest.raises(PolicyError, match=r"test\.toml: not valid TOML"):
        load_policy(path)


def test_duplicate_names_name_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, VALID, "a.toml")
    second = write(tmp_path, VALID, "b.toml")
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert str(first) in str(caught.value) and str(second) in str(caught.value)
    assert caught.value.key == "name"
