"""The playbook bundle new AWS hosts configure themselves from: what it holds."""

import io
import tarfile

import pytest

from pipelines import bundle


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tarfile.TarFile:
    stack_vars = tmp_path_factory.mktemp("stack") / "stack.yml"
    stack_vars.write_text("shop_stack: dev\nshop_bundle_bucket: shop-dev-bundles\n")
    return tarfile.open(fileobj=io.BytesIO(bundle.build_bundle(stack_vars)), mode="r:gz")


def _text(archive: tarfile.TarFile, name: str) -> str:
    member = archive.extractfile(name)
    assert member is not None, name
    return member.read().decode()


def test_the_converge_script_is_executable_at_the_top(archive):
    assert archive.getmember("converge").mode & 0o111


@pytest.mark.parametrize(
    "name",
    [
        "playbooks/ansible.cfg",
        "playbooks/self-converge.yml",
        "playbooks/configure.yml",
        "playbooks/roles/app_release/tasks/switch.yml",
        "playbooks/inventories/aws/group_vars/all/secrets.yml",
        "lab/roles/postgresql/tasks/main.yml",
    ],
)
def test_the_bundle_holds_what_self_converge_loads(archive, name):
    assert name in archive.getnames()


def test_the_stacks_endpoints_travel_with_the_bundle(archive):
    assert "shop-dev-bundles" in _text(archive, "playbooks/inventories/aws/group_vars/all/stack.yml")


def test_ansible_core_is_pinned_to_the_locked_version_without_the_whole_ansible_package(archive):
    requirements = _text(archive, "requirements.txt").splitlines()
    pinned = {line.split("==")[0] for line in requirements}
    assert (f"ansible-core=={bundle.locked_versions()['ansible-core']}" in requirements, "ansible" in pinned) == (
        True,
        False,
    )


@pytest.mark.parametrize("collection", ["community.postgresql", "amazon.aws", "ansible.posix", "community.docker"])
def test_the_collections_the_playbooks_name_travel_with_the_bundle(archive, collection):
    namespace, name = collection.split(".")
    assert f"collections/ansible_collections/{namespace}/{name}/MANIFEST.json" in archive.getnames()


def test_a_collection_named_in_a_task_or_template_is_found(tmp_path):
    (tmp_path / "tasks.yml").write_text("- community.rabbitmq.rabbitmq_user:\n    user: shop\n")
    (tmp_path / "motd.j2").write_text("{{ lookup('community.general.random_string') }}\n")
    assert bundle.used_collections((tmp_path,)) == ["community.general", "community.rabbitmq"]


def test_a_collections_dependencies_travel_with_it(tmp_path):
    (tmp_path / "tasks.yml").write_text("- community.aws.ssm_parameter:\n    name: x\n")
    assert bundle.used_collections((tmp_path,)) == ["amazon.aws", "community.aws"]


def test_names_that_only_look_qualified_are_not_collections(tmp_path):
    (tmp_path / "sysctl.yml").write_text("net.ipv4.conf.all.accept_redirects: 0\nfile: prometheus.yml.j2\n")
    assert bundle.used_collections((tmp_path,)) == []


def test_a_collections_own_tests_stay_behind(archive):
    assert not [name for name in archive.getnames() if name.startswith("collections/") and "/tests/" in name]


@pytest.mark.parametrize("fragment", ["inventories/lab/", ".aws_ec2.yml", "/molecule/", "__pycache__"])
def test_the_bundle_leaves_out_what_only_the_controller_or_the_lab_uses(archive, fragment):
    assert not [name for name in archive.getnames() if fragment in name]


def test_the_labs_bundle_carries_the_labs_inventory_and_no_other(tmp_path):
    stack_vars = tmp_path / "stack.yml"
    stack_vars.write_text("shop_stack: lab\nshop_bundle_bucket: shopstack-lab-bundles\n")
    lab = bundle.PLAYBOOKS / "inventories" / "lab"
    with tarfile.open(fileobj=io.BytesIO(bundle.build_bundle(stack_vars, lab)), mode="r:gz") as archive:
        names = archive.getnames()
    inventories = {name.split("/")[2] for name in names if name.startswith("playbooks/inventories/")}
    assert (inventories, "playbooks/inventories/lab/hosts.yml" in names) == ({"lab"}, False)
