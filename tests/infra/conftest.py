import pytest

from infra import offline

offline.load_provider_modules()


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, offline.StackRun]:
    """The whole program, run once per stack file under Pulumi's mocks."""
    return {stack: offline.run(stack) for stack in offline.STACKS}
