"""The AWS stack, checked offline: the state machine, the IAM boundaries, the deploy package.

cfn-lint and checkov run on every template in `make infra` (part of `make
test`); these tests check what neither knows: that the state machine is a
sound graph mirroring the local DAG, and that the lake's prefixes are kept
apart as DESIGN.md requires.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from wattlake.cli import build_parser
from wattlake.refresh import RefreshRun
from wattlake.refresh.aws import StepFunctionsRunner
from wattlake.storage import Lake

FAILURE = "Notify failure"


@pytest.fixture(scope="module")
def template(project_dir: Path) -> dict:
    from cfnlint.decode import decode

    decoded, errors = decode(str(project_dir / "infra" / "template.yaml"))
    assert not errors, errors
    return json.loads(json.dumps(decoded, default=str))


@pytest.fixture(scope="module")
def machine(template: dict) -> dict:
    return template["Resources"]["RefreshStateMachine"]["Properties"]["Definition"]


def targets(state: dict) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [choice["Next"] for choice in state.get("Choices", [])]
    found += [catch["Next"] for catch in state.get("Catch", [])]
    return found


def test_the_state_machine_is_a_sound_graph(machine: dict) -> None:
    states = machine["States"]
    assert machine["StartAt"] in states
    reachable, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        for target in targets(states[name]):
            assert target in states, f"{name} -> {target}: no such state"
            todo.append(target)
    assert reachable == set(states), f"unreachable: {set(states) - reachable}"
    for name, state in states.items():
        if state["Type"] in ("Succeed", "Fail"):
            continue
        assert targets(state) or state.get("End"), f"{name} leads nowhere"
        if state["Type"] == "Task":
            assert state.get("Retry"), f"{name} has no retry"
            if name != FAILURE:
                catches = [
                    c["Next"]
                    for c in state["Catch"]
                    if c["ErrorEquals"] == ["States.ALL"]
                ]
                assert catches == [FAILURE], f"{name}: a failure must alert"
    assert states[FAILURE]["Next"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


def success_path(machine: dict) -> list[tuple[str, dict]]:
    """The states of a run with new readings, in order."""
    states, name, path = machine["States"], machine["StartAt"], []
    while states[name]["Type"] != "Succeed":
        state = states[name]
        path.append((name, state))
        if state["Type"] == "Choice":
            ready = [
                c["Next"]
                for c in state["Choices"]
                if "Next" in c and c["Next"] != "Crawl failed"
            ]
            name = ready[0]
        else:
            name = state["Next"]
    return path


def test_the_state_machine_mirrors_the_local_dag(
    machine: dict, project_dir: Path
) -> None:
    steps = []
    for _name, state in success_path(machine):
        if state["Type"] != "Task":
            continue
        resource = state["Resource"]
        if "codebuild" in resource:
            [command] = state["Parameters"]["EnvironmentVariablesOverride"]
            steps.append(command["Value"])
            # a command the runner image runs: the real CLI must parse it
            args = build_parser().parse_args(command["Value"].split())
            if args.command == "transform":
                selectors = yaml.safe_load((project_dir / "selectors.yml").read_text())
                assert args.selector in {s["name"] for s in selectors["selectors"]}
        elif "emr-serverless" in resource:
            steps.append("features")
        elif "glue:startCrawler" in resource:
            steps.append("crawl")
    # wattlake run: land (the Lambda), transform lake_clean, features, marts, export
    assert steps == [
        "crawl",
        "transform --selector lake_clean",
        "features",
        "transform --selector marts",
        "docs",
    ]


def test_the_spark_step_runs_the_same_job_as_the_emr_config(
    machine: dict, project_dir: Path
) -> None:
    spark = machine["States"]["Spark features"]["Parameters"]
    submitted = spark["JobDriver"]["SparkSubmit"]
    config = json.loads((project_dir / "spark" / "emr-serverless-job.json").read_text())
    expected = config["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"].split()
    assert submitted["SparkSubmitParameters"].split()[2:] == expected[2:]
    assert submitted["EntryPoint"] == "${SparkEntryPoint}"
    arguments = submitted["EntryPointArguments.$"]
    assert all(flag in arguments for flag in ("'--lake'", "'--start'", "'--end'"))


def test_the_state_machine_reads_only_what_the_lambda_sends(
    machine: dict, tmp_path: Path
) -> None:
    run = RefreshRun(
        "refresh-x", ("b1",), "2025-03-28", "2025-03-29", "2025-03-30T00:00:00+00:00"
    )
    sent = StepFunctionsRunner("arn", Lake(str(tmp_path))).execution_input(run)
    used = set(re.findall(r"\$\.([a-z_]+)", json.dumps(machine)))
    produced = {"error", "crawler"}  # written by the machine's own states
    assert used - produced <= set(sent), used - produced - set(sent)


def statements(template: dict, role: str) -> list[dict]:
    policies = template["Resources"][role]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def lake_prefixes(statement: dict) -> set[str]:
    resources = statement["Resource"]
    resources = resources if isinstance(resources, list) else [resources]
    found = set()
    for resource in resources:
        match = re.search(r"LakeBucket\.Arn\}/([^*]*)\*", json.dumps(resource))
        if match:
            found.add(match.group(1))
    return found


def written_prefixes(template: dict, role: str) -> set[str]:
    found = set()
    for statement in statements(template, role):
        actions = (
            statement["Action"]
            if isinstance(statement["Action"], list)
            else [statement["Action"]]
        )
        if any(a in ("s3:PutObject", "s3:DeleteObject") for a in actions):
            found |= lake_prefixes(statement)
    return found


def test_each_component_writes_only_its_own_lake_prefixes(
    template: dict, project_dir: Path
) -> None:
    # dbt-athena rewrites its table locations: never landing/, raw/ or curated/
    assert written_prefixes(template, "RunnerRole") == {"clean/", "warehouse/"}
    profiles = yaml.safe_load((project_dir / "profiles" / "profiles.yml").read_text())
    s3_data_dir = profiles["wattlake"]["outputs"]["athena"]["s3_data_dir"]
    assert s3_data_dir.endswith("/warehouse/")
    assert written_prefixes(template, "SparkJobRole") == {"curated/"}
    assert written_prefixes(template, "RefreshRole") == {
        "landing/",
        "raw/",
        "_manifests/",
        "_quarantine/",
        "_refresh/",
    }
    assert written_prefixes(template, "HeadEndRole") == {"landing/"}
    # and the lake's policy denies the head-end any other prefix
    policy = template["Resources"]["LakeBucketPolicy"]["Properties"]["PolicyDocument"]
    [deny] = [s for s in policy["Statement"] if s["Sid"] == "HeadEndWritesLandingOnly"]
    assert deny["Effect"] == "Deny" and "landing/*" in json.dumps(deny["NotResource"])


def test_every_bucket_is_tls_only(template: dict) -> None:
    resources = template["Resources"]
    buckets = {n for n, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    guarded = set()
    for resource in resources.values():
        if resource["Type"] != "AWS::S3::BucketPolicy":
            continue
        document = resource["Properties"]["PolicyDocument"]
        for statement in document["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny"
                guarded.add(resource["Properties"]["Bucket"]["Ref"])
    assert guarded == buckets


def test_deploy_dry_run_packages_the_spark_job_and_the_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wattlake.cli import main

    monkeypatch.setenv("WATTLAKE_BUILD_DIR", str(tmp_path))
    assert (
        main(["deploy", "--dry-run", "--region", "eu-west-1", "--image-tag", "t1"]) == 0
    )
    with zipfile.ZipFile(tmp_path / "deploy" / "wattlake.zip") as archive:
        names = set(archive.namelist())
    assert {"wattlake/features/job.py", "wattlake/storage.py"} <= names
    assert (tmp_path / "deploy" / "anomaly_features.py").is_file()
    assert (tmp_path / "deploy" / "template.yaml").is_file()
