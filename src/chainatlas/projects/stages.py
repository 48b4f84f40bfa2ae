"""The stage machine of an investment project (pure: no store).

A project moves 线索 → 洽谈 → 签约 → 注册 → 开工 → 投产. 暂停 (paused) is a flag, not a
stage: a paused project keeps its stage and resumes where it stopped. 终止 (ended) is an
end: nothing moves an ended project again. The rules are what a bureau's ledger keeper
enforces by hand:

* one step forward needs nothing more;
* a jump forward of several steps needs a reason (a firm that already has a local entity
  goes from 签约 straight to 开工; a sheet imported mid-way);
* one step back needs a reason (a signed deal reopened for negotiation), more than one
  step back is refused: that is a new project, not a correction;
* moving to the stage a project is in, moving a paused project, and any change of an
  ended project are refused; pausing, resuming and ending need a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from chainatlas.errors import ParameterError

#: The stages in order, as stored.
STAGES = ("lead", "negotiating", "signed", "registered", "started", "producing")
#: Their Chinese names, as the UI and the bureaus' sheets say them.
STAGE_LABELS = {"lead": "线索", "negotiating": "洽谈", "signed": "签约",
                "registered": "注册", "started": "开工", "producing": "投产"}
#: Other names the bureaus' sheets use for a stage.
_ALIASES = {"在谈": "negotiating", "洽谈中": "negotiating", "已签约": "signed",
            "签约落地": "signed", "已注册": "registered", "注册落地": "registered",
            "在建": "started", "已开工": "started", "开工建设": "started",
            "已投产": "producing", "竣工投产": "producing", "投产运营": "producing",
            "储备": "lead", "谋划": "lead", "线索项目": "lead"}
PAUSED_LABEL = "暂停"
ENDED_LABEL = "终止"
_RANK = {stage: rank for rank, stage in enumerate(STAGES)}


def stage_from_text(text: str) -> str:
    """The stored stage key of ``text`` (a key, its Chinese name or a common alias)."""
    value = text.strip()
    if value in _RANK:
        return value
    for key, label in STAGE_LABELS.items():
        if value == label:
            return key
    if value in _ALIASES:
        return _ALIASES[value]
    names = "、".join(STAGE_LABELS.values())
    raise ParameterError(f"Unknown project stage {text!r}: use one of {names} "
                         f"({', '.join(STAGES)}).")


def stage_rank(stage: str) -> int:
    """The position of a stage (0 for 线索)."""
    return _RANK[stage_from_text(stage)]


def stage_label(stage: str) -> str:
    """The Chinese name of a stored stage key."""
    return STAGE_LABELS[stage]


@dataclass(frozen=True)
class Status:
    """What the stage rules need to know of a project."""

    stage: str
    paused: bool = False
    ended: bool = False


def _refuse(message: str) -> None:
    raise ParameterError(message)


def _check_open(status: Status, what: str) -> None:
    if status.ended:
        _refuse(f"The project has ended ({ENDED_LABEL}); it cannot be {what}.")


def _needs_reason(reason: str | None, message: str) -> None:
    if not (reason or "").strip():
        _refuse(message)


def check_move(status: Status, target: str, reason: str | None) -> str:
    """The stage key to move to, or a ParameterError saying why the move is refused."""
    stage = stage_from_text(target)
    _check_open(status, "moved")
    if status.paused:
        _refuse(f"The project is paused ({PAUSED_LABEL}); resume it before moving it.")
    step = _RANK[stage] - _RANK[status.stage]
    here, there = STAGE_LABELS[status.stage], STAGE_LABELS[stage]
    if step == 0:
        _refuse(f"The project is already at {here}.")
    if step < -1:
        _refuse(f"A project cannot go back from {here} to {there} (more than one stage); "
                "end it and open a new project instead.")
    if step == -1:
        _needs_reason(reason, f"Moving back from {here} to {there} needs a reason.")
    if step > 1:
        _needs_reason(reason, f"Skipping from {here} to {there} ({step - 1} stage(s) "
                              "passed over) needs a reason.")
    return stage


def check_pause(status: Status, reason: str | None) -> None:
    """Refuse pausing an ended or already paused project, or pausing without a reason."""
    _check_open(status, "paused")
    if status.paused:
        _refuse("The project is already paused.")
    _needs_reason(reason, "Pausing a project needs a reason.")


def check_resume(status: Status, reason: str | None) -> None:
    """Refuse resuming a project that is not paused, or without a reason."""
    _check_open(status, "resumed")
    if not status.paused:
        _refuse("The project is not paused.")
    _needs_reason(reason, "Resuming a project needs a reason.")


def check_end(status: Status, reason: str | None) -> None:
    """Refuse ending an ended project, or ending without a reason."""
    _check_open(status, "ended again")
    _needs_reason(reason, "Ending (终止) a project needs a reason.")


def check_edit(status: Status) -> None:
    """Refuse editing the fields of an ended project."""
    _check_open(status, "edited")
