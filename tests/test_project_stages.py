"""The stage machine of a project: every allowed and every refused move."""

from __future__ import annotations

import itertools

import pytest

from chainatlas.errors import ParameterError
from chainatlas.projects import stages
from chainatlas.projects.stages import STAGES, Status


@pytest.mark.parametrize(("here", "there"), list(itertools.product(STAGES, STAGES)))
def test_every_move_without_a_reason(here: str, there: str) -> None:
    step = STAGES.index(there) - STAGES.index(here)
    if step == 1:
        assert stages.check_move(Status(here), there, None) == there
    else:
        with pytest.raises(ParameterError):
            stages.check_move(Status(here), there, None)


@pytest.mark.parametrize(("here", "there"), list(itertools.product(STAGES, STAGES)))
def test_every_move_with_a_reason(here: str, there: str) -> None:
    step = STAGES.index(there) - STAGES.index(here)
    if step >= 1 or step == -1:
        assert stages.check_move(Status(here), there, "已有本地主体") == there
    else:
        with pytest.raises(ParameterError, match=r"already at|cannot go back"):
            stages.check_move(Status(here), there, "理由")


@pytest.mark.parametrize("stage", STAGES)
def test_paused_and_ended_projects_do_not_move(stage: str) -> None:
    with pytest.raises(ParameterError, match="paused"):
        stages.check_move(Status(stage, paused=True), "producing", "理由")
    with pytest.raises(ParameterError, match="ended"):
        stages.check_move(Status(stage, ended=True), "producing", "理由")


def test_chinese_names_and_aliases() -> None:
    assert stages.stage_from_text("签约") == "signed"
    assert stages.stage_from_text(" 在谈 ") == "negotiating"
    assert stages.stage_from_text("竣工投产") == "producing"
    assert stages.stage_from_text("started") == "started"
    with pytest.raises(ParameterError, match="线索、洽谈"):
        stages.stage_from_text("完成")


def test_pause_resume_end_rules() -> None:
    open_ = Status("signed")
    with pytest.raises(ParameterError, match="reason"):
        stages.check_pause(open_, " ")
    stages.check_pause(open_, "企业资金链紧张")
    with pytest.raises(ParameterError, match="already paused"):
        stages.check_pause(Status("signed", paused=True), "x")
    with pytest.raises(ParameterError, match="not paused"):
        stages.check_resume(open_, "x")
    stages.check_resume(Status("signed", paused=True), "资金到位")
    stages.check_end(Status("signed", paused=True), "企业放弃")
    with pytest.raises(ParameterError, match="ended"):
        stages.check_end(Status("signed", ended=True), "x")
    with pytest.raises(ParameterError, match="ended"):
        stages.check_edit(Status("lead", ended=True))
    stages.check_edit(Status("lead", paused=True))  # a paused project's fields may change
