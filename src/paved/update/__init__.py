"""Updating a service to a newer paved road: a three-way merge of each layer's scaffold.

``paved update`` renders the version a layer was made from and the version it goes to with
the service's recorded answers, and merges the difference into the service with git's own
merge: local lines are never lost, a conflict is a real conflict in git's index, and nothing
is committed while one remains (docs/update.md).
"""

from paved.update._model import (
    AnswerChange,
    Change,
    FileChange,
    LayerPlan,
    UpdateDeps,
    UpdatePlan,
    UpdateRequest,
    UpdateResult,
    describe,
)
from paved.update._plan import (
    STATE_FILE,
    check_clean,
    pending_update,
    plan_update,
    service_root,
    state_path,
)
from paved.update._run import abort_update, continue_update, decline_update, run_update

__all__ = [
    "STATE_FILE",
    "AnswerChange",
    "Change",
    "FileChange",
    "LayerPlan",
    "UpdateDeps",
    "UpdatePlan",
    "UpdateRequest",
    "UpdateResult",
    "abort_update",
    "check_clean",
    "continue_update",
    "decline_update",
    "describe",
    "pending_update",
    "plan_update",
    "run_update",
    "service_root",
    "state_path",
]
