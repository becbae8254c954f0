"""A lab left running by another checkout is replaced, not reused with credentials it refuses."""

from __future__ import annotations

from types import SimpleNamespace

from lab import resources
from lab.images import LABEL


class FakeEngine:
    def __init__(self, *owners: str | None) -> None:
        self.removed: list[str] = []
        self.containers = SimpleNamespace(list=self._list)
        self.networks = SimpleNamespace(list=lambda **_: [])
        self.volumes = SimpleNamespace(list=lambda **_: [])
        self._containers = [self._container(f"host-{i}", owner) for i, owner in enumerate(owners)]

    def _container(self, name: str, owner: str | None) -> SimpleNamespace:
        labels = {LABEL: "host"} | ({resources.OWNER: owner} if owner else {})
        return SimpleNamespace(name=name, labels=labels,
                               remove=lambda **_: self.removed.append(name))

    def _list(self, **_: object) -> list[SimpleNamespace]:
        return self._containers


def test_a_lab_made_by_this_checkout_is_kept() -> None:
    engine = FakeEngine("mine", "mine")
    resources.replace_foreign(engine, "mine")
    assert engine.removed == []


def test_a_lab_made_by_another_checkout_is_removed_whole() -> None:
    engine = FakeEngine("mine", "theirs")
    resources.replace_foreign(engine, "mine")
    assert engine.removed == ["host-0", "host-1"]


def test_a_lab_from_before_owners_were_labelled_is_removed() -> None:
    engine = FakeEngine(None)
    resources.replace_foreign(engine, "mine")
    assert engine.removed == ["host-0"]
