"""The committed snapshots, diagram and README tables match the program; costs add up."""

from infra import cost, diagram, snapshot
from infra.outputs import StackOutput

REGENERATE = "python -m infra.snapshot --update"


def test_committed_snapshots_diagram_and_tables_are_current(stack_runs):
    stale = [str(path.relative_to(snapshot.offline.ROOT)) for path in snapshot.stale_files(stack_runs)]
    assert not stale, f"{', '.join(stale)} drifted from the program; review the change, run `{REGENERATE}`"


def test_a_changed_resource_shows_up_in_the_snapshot(stack_runs):
    run = stack_runs["dev"]
    instance = run.one("aws:rds/instance:Instance")
    instance.inputs["publiclyAccessible"] = True
    try:
        changed = snapshot.render_snapshot(run)
    finally:
        instance.inputs["publiclyAccessible"] = False
    assert changed != snapshot.render_snapshot(run)
    assert "publiclyAccessible: true" in changed


def test_snapshots_hold_no_secret_values(stack_runs):
    for run in stack_runs.values():
        text = snapshot.render_snapshot(run)
        for secret in snapshot.offline.OFFLINE_SECRETS.values():
            assert secret not in text, f"{run.stack} snapshot leaks a secret"


def test_readme_documents_every_output():
    readme = snapshot.README.read_text()
    for key in StackOutput:
        assert f"| `{key}` |" in readme, key


def test_diagram_shows_the_traffic_the_firewall_admits(stack_runs):
    chart = diagram.render(stack_runs["prod"])
    assert 'internet -- "80, 443" --> loadbalancer_shop_prod_lb' in chart
    assert 'loadbalancer_shop_prod_lb -- "80" --> hostgroup_shop_prod_web' in chart
    assert 'hostgroup_shop_prod_worker -- "5432" --> database_shop_prod_db' in chart
    assert "hostgroup_shop_prod_web -.-> secrets_shop_prod" in chart


def test_prod_costs_more_than_staging_more_than_dev(stack_runs):
    totals = {stack: cost.total(cost.estimate(run)) for stack, run in stack_runs.items()}
    assert 50 < totals["dev"] < totals["staging"] < totals["prod"] < 5000, totals


def test_every_host_group_database_cache_and_broker_is_priced(stack_runs):
    services = {item.service for item in cost.estimate(stack_runs["prod"])}
    assert {"EC2", "VPC", "ELB", "RDS", "ElastiCache", "Amazon MQ", "CloudWatch"} <= services


def test_a_multi_az_database_costs_twice_a_single_one(stack_runs):
    run = stack_runs["prod"]
    instance = run.one("aws:rds/instance:Instance")
    (multi_az,) = [i for i in cost.estimate(run) if i.service == "RDS"]
    instance.inputs["multiAz"] = False
    try:
        (single,) = [i for i in cost.estimate(run) if i.service == "RDS"]
    finally:
        instance.inputs["multiAz"] = True
    assert multi_az.monthly_usd == 2 * single.monthly_usd
