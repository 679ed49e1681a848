"""`wattlake deploy`: package Wattlake and deploy its AWS stacks.

Steps, each idempotent (a second deploy of the same commit changes nothing):

1. the bootstrap stack (`infra/bootstrap.yaml`): the ECR repository and the
   bucket the main template is uploaded to;
2. the images: `docker build` of the Dockerfile's `runner` and `refresh`
   targets, tagged with the git commit, pushed to that repository;
3. the main stack (`infra/template.yaml`, a SAM template) with the
   parameters (name, schedule, debounce, limits, ...), through a change set;
4. the Spark job's code (`spark/anomaly_features.py` and `wattlake.zip`, the
   package for `--py-files`) to the artifacts bucket;
5. with Redshift: the Spectrum external schema over the Glue database.

`--dry-run` packages everything locally and prints the plan without calling
AWS (what CI checks).
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattlake.config import Settings

log = logging.getLogger(__name__)

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
REDSHIFT_DATABASE = "wattlake"  # the namespace's DbName in infra/template.yaml
SPECTRUM_SCHEMA = "wattlake_spectrum"
IMAGE_TARGETS = {"runner": "RunnerImageUri", "refresh": "RefreshImageUri"}


class DeployError(RuntimeError):
    """A deploy step failed; the message names the step and the stack."""


@dataclass(frozen=True)
class DeployPlan:
    """What `wattlake deploy` deploys, where, with which parameters."""

    name: str
    region: str
    image_tag: str
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def bootstrap_stack(self) -> str:
        """The stack of the image repository and the deploy bucket."""
        return f"{self.name}-bootstrap"

    @property
    def main_stack(self) -> str:
        """The stack of everything else."""
        return self.name


def git_commit(project_dir: Path) -> str:
    """The checkout's short commit (the image tag); `-dirty` with local changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=project_dir, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DeployError(
            f"cannot read the git commit in {project_dir}: {exc}"
        ) from exc
    return f"{commit}-dirty-{int(time.time())}" if dirty else commit


def package(settings: Settings, out: Path) -> dict[str, Path]:
    """The Spark job's files for EMR Serverless, and the templates, in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    project = settings.project_dir
    archive = out / "wattlake.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        package_dir = project / "src" / "wattlake"
        for path in sorted(package_dir.rglob("*.py")):
            zipped.write(path, path.relative_to(package_dir.parent))
    entry = out / "anomaly_features.py"
    shutil.copyfile(project / "spark" / "anomaly_features.py", entry)
    files = {"spark/wattlake.zip": archive, "spark/anomaly_features.py": entry}
    for template in ("bootstrap.yaml", "template.yaml"):
        target = out / template
        shutil.copyfile(project / "infra" / template, target)
        files[f"templates/{template}"] = target
    return files


def deploy(settings: Settings, plan: DeployPlan, dry_run: bool = False) -> dict:
    """Deploy the stacks; return the main stack's outputs (the plan, dry)."""
    out = settings.build_dir / "deploy"
    files = package(settings, out)
    log.info(
        "deploy: packaged %s in %s",
        ", ".join(sorted(files)),
        out.relative_to(out.parents[1]),
    )
    summary = {
        "region": plan.region,
        "stacks": [plan.bootstrap_stack, plan.main_stack],
        "image_tag": plan.image_tag,
        "parameters": plan.parameters,
        "packaged": {key: str(path) for key, path in files.items()},
    }
    if dry_run:
        log.info(
            "deploy: dry run, nothing sent to AWS: %s", json.dumps(summary, indent=2)
        )
        return summary

    import boto3

    session = boto3.session.Session(region_name=plan.region)
    cfn = session.client("cloudformation")
    log.info("deploy: 1/5 bootstrap stack %s", plan.bootstrap_stack)
    bootstrap = _deploy_stack(
        cfn,
        plan.bootstrap_stack,
        {
            "TemplateBody": (
                settings.project_dir / "infra" / "bootstrap.yaml"
            ).read_text()
        },
        {"Name": plan.name},
    )
    repository = bootstrap["RepositoryUri"]
    log.info("deploy: 2/5 images %s:%s", repository, plan.image_tag)
    images = _push_images(session, settings.project_dir, repository, plan.image_tag)
    log.info("deploy: 3/5 main stack %s", plan.main_stack)
    bucket = bootstrap["DeployBucket"]
    key = f"templates/{plan.image_tag}/template.yaml"
    session.client("s3").upload_file(str(files["templates/template.yaml"]), bucket, key)
    url = f"https://{bucket}.s3.{plan.region}.amazonaws.com/{key}"
    outputs = _deploy_stack(
        cfn,
        plan.main_stack,
        {"TemplateURL": url},
        {"Name": plan.name, **images, **plan.parameters},
    )
    log.info("deploy: 4/5 Spark job code to s3://%s/spark/", outputs["ArtifactsBucket"])
    s3 = session.client("s3")
    for name in ("spark/wattlake.zip", "spark/anomaly_features.py"):
        s3.upload_file(str(files[name]), outputs["ArtifactsBucket"], name)
    if "RedshiftWorkgroup" in outputs:
        log.info(
            "deploy: 5/5 Spectrum schema in Redshift %s", outputs["RedshiftWorkgroup"]
        )
        _create_spectrum_schema(session, outputs)
    else:
        log.info("deploy: 5/5 no Redshift (EnableRedshift=false)")
    return outputs


def _deploy_stack(
    cfn: Any, stack: str, template: dict[str, str], parameters: dict[str, str]
) -> dict[str, str]:
    """Create or update a stack through a change set; return its outputs."""
    exists = True
    try:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status == "REVIEW_IN_PROGRESS":
            exists = False
    except cfn.exceptions.ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        exists = False
    change_set = f"wattlake-{int(time.time())}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE" if exists else "CREATE",
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
        ],
        Capabilities=CAPABILITIES,
        **template,
    )
    try:
        cfn.get_waiter("change_set_create_complete").wait(
            StackName=stack, ChangeSetName=change_set
        )
    except Exception as exc:  # noqa: BLE001 - "no changes" ends the waiter as a failure
        reason = cfn.describe_change_set(StackName=stack, ChangeSetName=change_set).get(
            "StatusReason", ""
        )
        if "didn't contain changes" in reason or "No updates" in reason:
            log.info("deploy: %s is up to date", stack)
            cfn.delete_change_set(StackName=stack, ChangeSetName=change_set)
            return _outputs(cfn, stack)
        raise DeployError(f"stack {stack}: change set failed: {reason or exc}") from exc
    cfn.execute_change_set(StackName=stack, ChangeSetName=change_set)
    waiter = "stack_update_complete" if exists else "stack_create_complete"
    try:
        cfn.get_waiter(waiter).wait(
            StackName=stack, WaiterConfig={"Delay": 15, "MaxAttempts": 240}
        )
    except Exception as exc:  # noqa: BLE001 - name the failed resources
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
        failed = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in events
            if e["ResourceStatus"].endswith("FAILED")
        ][:5]
        raise DeployError(f"stack {stack} failed: {'; '.join(failed) or exc}") from exc
    return _outputs(cfn, stack)


def _outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _push_images(
    session: Any, project_dir: Path, repository: str, tag: str
) -> dict[str, str]:
    """Build and push the runner and refresh images; their URIs as parameters."""
    if shutil.which("docker") is None:
        raise DeployError("docker is needed to build the runner and refresh images")
    token = session.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = (
        base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    )
    registry = repository.split("/", 1)[0]
    subprocess.run(
        ["docker", "login", "--username", user, "--password-stdin", registry],
        input=password,
        text=True,
        check=True,
    )
    images = {}
    for target, parameter in IMAGE_TARGETS.items():
        uri = f"{repository}:{target}-{tag}"
        subprocess.run(
            ["docker", "build", "--target", target, "--tag", uri, "."],
            cwd=project_dir,
            check=True,
        )
        subprocess.run(["docker", "push", uri], check=True)
        images[parameter] = uri
    return images


def _create_spectrum_schema(session: Any, outputs: dict[str, str]) -> None:
    """The external schema Redshift's dbt sources read (idempotent).

    Its name is the dbt sources' default (`WATTLAKE_SPECTRUM_SCHEMA`).
    """
    client = session.client("redshift-data")
    sql = (
        f"create external schema if not exists {SPECTRUM_SCHEMA} "
        f"from data catalog database '{outputs['GlueDatabase']}' "
        f"iam_role '{outputs['SpectrumRoleArn']}'"
    )
    statement = client.execute_statement(
        WorkgroupName=outputs["RedshiftWorkgroup"], Database=REDSHIFT_DATABASE, Sql=sql
    )
    while True:
        described = client.describe_statement(Id=statement["Id"])
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            break
        time.sleep(2)
    if described["Status"] != "FINISHED":
        raise DeployError(
            f"Redshift: creating the Spectrum schema failed: {described.get('Error')}"
        )
