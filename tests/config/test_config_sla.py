"""The status model, SLA policies and support lines in the routing file, with file:line errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.errors import RoutingConfigError
from config.routing import check_routing, load_routing_text
from config.sla import Calendar, Stage
from modest.cli import main
from tests.support.routing import ROUTING_YAML

SLA = """\
statuses:
  waiting_client: [waiting]
  feedback: [answered]
sla:
  warn_at: 75%
  policies:
    - name: critical
      priorities: [urgent]
      statuses: [process]
      first_response: 15m
      resolution: 1d4h
      calendar: 24x7
    - name: standard
      resolution: 16h
"""


def problems(text: str) -> list[str]:
    with pytest.raises(RoutingConfigError) as caught:
        load_routing_text(text, "r.yaml")
    return [str(problem) for problem in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def test_policies_targets_and_stages_load() -> None:
    routing = load_routing_text(ROUTING_YAML + SLA)
    critical, standard = routing.sla.policies
    assert routing.sla.warn_at == 0.75
    assert critical.resolution == timedelta(hours=28)
    assert critical.calendar == Calendar.ALWAYS
    assert standard.calendar == Calendar.WORKING_HOURS
    assert standard.first_response is None
    stages = routing.statuses.stages(routing.helpdesk.kind)
    assert stages["open"] == Stage.CLASSIFICATION, "HelpDeskEddy's defaults"
    assert stages["process"] == Stage.IN_WORK
    assert stages["waiting"] == Stage.WAITING_CLIENT
    assert stages["answered"] == Stage.FEEDBACK


def test_rt_s_statuses_have_their_own_defaults() -> None:
    routing = load_routing_text(ROUTING_YAML + "helpdesk: {kind: rt}\n")
    stages = routing.statuses.stages("rt")
    assert (stages["new"], stages["open"], stages["stalled"]) == (
        Stage.CLASSIFICATION,
        Stage.IN_WORK,
        Stage.WAITING_CLIENT,
    )
    assert "resolved" not in stages, "closing statuses close the ticket"


def test_a_status_a_policy_uses_but_no_stage_maps_is_reported_with_its_line() -> None:
    text = ROUTING_YAML + SLA.replace("statuses: [process]", "statuses: [process, vip]")
    assert problems(text) == [
        f"r.yaml:{line_of(text, '      statuses: [process, vip]')}: "
        "sla.policies[0].statuses[1]: status 'vip' is mapped to no stage: add it under statuses:"
    ]


@pytest.mark.parametrize(
    ("old", "new", "at", "field", "message"),
    [
        (
            "first_response: 15m",
            "first_response: 15x",
            "      first_response: 15x",
            "sla.policies[0].first_response",
            "invalid duration '15x': use e.g. 15m, 4h, 2d or 1h30m",
        ),
        (
            "first_response: 15m",
            "first_response: 30s",
            "      first_response: 30s",
            "sla.policies[0].first_response",
            "must be at least 1m",
        ),
        (
            "warn_at: 75%",
            "warn_at: 120%",
            "  warn_at: 120%",
            "sla.warn_at",
            "invalid share '120%': use a percentage such as 80%",
        ),
        (
            "calendar: 24x7",
            "calendar: always",
            "      calendar: always",
            "sla.policies[0].calendar",
            "expected 'working_hours' or '24x7', got 'always'",
        ),
        (
            "      resolution: 16h\n",
            "",
            "    - name: standard",
            "sla.policies[1]",
            "give first_response, resolution or both",
        ),
        (
            "  feedback: [answered]",
            "  feedback: [waiting]",
            "statuses:",
            "statuses",
            "status 'waiting' is mapped to waiting_client and feedback",
        ),
        (
            "name: standard",
            "name: critical",
            "    - name: critical",
            "sla.policies[1].name",
            "duplicate name 'critical', already used by sla.policies[0]",
        ),
    ],
)
def test_sla_problems(old: str, new: str, at: str, field: str, message: str) -> None:
    text = ROUTING_YAML + SLA.replace(old, new)
    lines = text.splitlines()
    line = len(lines) - lines[::-1].index(at)  # the last line that reads so
    assert problems(text) == [f"r.yaml:{line}: {field}: {message}"]


def test_a_policy_naming_an_unknown_client_and_a_client_contract() -> None:
    clients = (
        "clients:\n  - key: acme\n    name: Acme\n    unlimited: true\n"
        "    sla: {resolution: 8h, calendar: 24x7}\n"
    )
    routing = load_routing_text(ROUTING_YAML + clients + SLA)
    acme = routing.client("acme")
    assert acme is not None
    assert acme.sla is not None
    assert acme.sla.resolution == timedelta(hours=8)
    text = ROUTING_YAML + clients + SLA.replace("priorities: [urgent]", "clients: [acme, nope]")
    assert problems(text) == [
        f"r.yaml:{line_of(text, '      clients: [acme, nope]')}: "
        "sla.policies[0].clients[1]: unknown client 'nope'"
    ]


def test_department_lines() -> None:
    text = ROUTING_YAML.replace("    helpdesk_id: 2\n", "    helpdesk_id: 2\n    line: 2\n")
    routing = load_routing_text(text)
    assert [d.line for d in routing.departments] == [1, 2]
    (found,) = problems(text.replace("line: 2", "line: 4"))
    assert found == (
        f"r.yaml:{line_of(text, '    line: 2')}: departments[dev].line: "
        "input should be less than or equal to 3"
    )


def test_check_config_prints_the_unmapped_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING_YAML + SLA.replace("[process]", "[on_hold]"), encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "sla.policies[0].statuses[0]: status 'on_hold' is mapped to no stage" in out
    assert len(check_routing(path)) == 1
