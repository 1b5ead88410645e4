"""What the window and its acquisition process say to each other over their pipe (pickled, typed)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Sequence, Union

from rig.api import PreparedRun
from rig.calibrate.procedures import CalibrationOutcome, CalibrationRequest
from rig.datatypes.records import Record
from rig.datatypes.sweep_plan import SweepPlan
from rig.hal.interfaces import SafetyReport


# ----- window -> acquisition process ---------------------------------------------------------------
@dataclass(frozen=True)
class StartProtocol:
    """Run a prepared protocol through `rig.api.execute` into the session's output folder."""

    prepared: PreparedRun


@dataclass(frozen=True)
class StartPlans:
    """Execute window-built plans (membrane test, frame scan, camera live, single pulse) without a run file."""

    label: str
    plans: Sequence[SweepPlan]


class JobControl(Enum):
    """What the operator asks of the running job."""

    STOP_AFTER_SWEEP = "stop"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True)
class Control:
    """Stop, abort, pause or resume the running job (applied when its Runner appears, if it has not yet)."""

    action: JobControl


@dataclass(frozen=True)
class SetLed:
    """Switch one LED of an LED source statically (only while idle); answered by a Reply."""

    call_id: int
    device: str
    led: str
    on: bool


@dataclass(frozen=True)
class SetHolding:
    """Set an amplifier's clamp mode and holding value statically (only while idle); answered by a Reply."""

    call_id: int
    device: str
    mode: str
    value: float


@dataclass(frozen=True)
class MakeSafe:
    """Put every device in its safe state (only while idle); answered by a Reply."""

    call_id: int


@dataclass(frozen=True)
class Calibrate:
    """Run one calibration procedure on the rig; questions come back as AskOperator, the end as CalibrationDone."""

    request: CalibrationRequest


@dataclass(frozen=True)
class OperatorAnswer:
    """The operator's typed answer to the last AskOperator."""

    text: str


@dataclass(frozen=True)
class Quit:
    """Abort any job, make every device safe and end the acquisition process."""


Command = Union[StartProtocol, StartPlans, Control, SetLed, SetHolding, MakeSafe, Calibrate, OperatorAnswer, Quit]


# ----- acquisition process -> window ---------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    """The rig is built: its devices' kinds and safety reports."""

    device_kinds: dict[str, str]
    safety: list[SafetyReport]


@dataclass(frozen=True)
class StartFailed:
    """The rig could not be built; the process ends."""

    message: str


@dataclass(frozen=True)
class JobRecord:
    """One record of the running job, for display."""

    label: str
    record: Record


@dataclass(frozen=True)
class RunFileOpened:
    """The protocol job's run file exists and is being written."""

    path: Path


@dataclass(frozen=True)
class JobDone:
    """The job ended: its result (RunResult or RunOutcome) or an error line; the rig is idle again."""

    label: str
    result: object
    error: str


@dataclass(frozen=True)
class SafetySnapshot:
    """Every device's safety report now (sent about once a second and after every static change)."""

    reports: list[SafetyReport]


@dataclass(frozen=True)
class Reply:
    """The answer to a SetLed, SetHolding or MakeSafe: the safety reports after it, or the refusal."""

    call_id: int
    reports: list[SafetyReport]
    error: str


@dataclass(frozen=True)
class AskOperator:
    """A running calibration procedure asks for a typed reading."""

    prompt: str


@dataclass(frozen=True)
class CalibrationDone:
    """The calibration procedure ended: its outcome, or an error line."""

    outcome: CalibrationOutcome | None
    error: str


Event = Union[Ready, StartFailed, JobRecord, RunFileOpened, JobDone, SafetySnapshot, Reply, AskOperator,
              CalibrationDone]
