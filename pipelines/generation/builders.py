"""Workflow documents per pipeline template, as plain Python data (dumped to YAML elsewhere).

Every template has the same shape: build → test → one deploy job per environment in order.
The first environment deploys on a push to the first branch; each next one after the one
before it; each deploy job runs in the GitHub environment of the same name, so prod's
required reviewers (set on the GitHub environment at delivery) gate it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..choices import PipelineTemplate
from . import actions as a

Job = dict[str, Any]
Step = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What a builder needs: the service, the environments in order and the full options."""

    service: str
    workflow_name: str
    environments: list[str]
    options: dict[str, Any]

    @property
    def wd(self) -> str:
        return str(self.options.get("working_directory") or ".")

    def path(self, *parts: str) -> str:
        """A repository-relative path under the working directory (actions ignore defaults)."""
        return posixpath.normpath(posixpath.join(self.wd, *parts))

    @property
    def deploy_branch(self) -> str:
        return str(self.options["branches"][0])

    @property
    def deploy_if(self) -> str:
        return f"github.event_name == 'push' && github.ref == 'refs/heads/{self.deploy_branch}'"


def checkout() -> Step:
    return {"name": "Check out", "uses": a.CHECKOUT, "with": {"persist-credentials": False}}


def run(name: str, command: str, **extra: Any) -> Step:
    return {"name": name, "run": command, **extra}


def aws_credentials() -> Step:
    # The role and region are variables of the GitHub environment, set at delivery.
    return {
        "name": "Configure AWS credentials (OIDC)",
        "uses": a.CONFIGURE_AWS,
        "with": {
            "role-to-assume": "${{ vars.AWS_ROLE_ARN }}",
            "aws-region": "${{ vars.AWS_REGION }}",
        },
    }


PLATFORM_TOKEN_SCRIPT = """\
# The job's GitHub OIDC token, traded for a short-lived platform token of the service
# account bound to this repository (POST /api/v1/auth/github-oidc/): no stored secret.
oidc=$(curl -fsS -G -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \\
  --data-urlencode "audience=${IDP_URL}" "${ACTIONS_ID_TOKEN_REQUEST_URL}" | jq -r .value)
if ! answer=$(curl -fsS -X POST -H "Content-Type: application/json" \\
  -d "{\\"token\\": \\"${oidc}\\"}" "${IDP_URL}/api/v1/auth/github-oidc/"); then
  echo "::warning::No platform token: bind this repository to a service account of the team"
  exit 0
fi
token=$(jq -r .token <<<"${answer}")
echo "::add-mask::${token}"
echo "IDP_TOKEN=${token}" >> "${GITHUB_ENV}"
echo "IDP_URL=${IDP_URL}" >> "${GITHUB_ENV}"
"""


def platform_token() -> Step:
    """IDP_TOKEN for the job's later steps (the `idp` CLI, curl to /api/v1/), traded for the
    job's OIDC token; a repository not bound to a service account only gets a warning."""
    return {
        "name": "Platform token (GitHub OIDC, no stored secret)",
        "env": {"IDP_URL": "${{ vars.IDP_URL }}"},
        "run": PLATFORM_TOKEN_SCRIPT,
    }


def job(name: str, steps: list[Step], **extra: Any) -> Job:
    return {
        "name": name,
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 30,
        **extra,
        "steps": steps,
    }


# --- language setups ----------------------------------------------------------------------


def setup_python(ctx: Context) -> list[Step]:
    return [
        checkout(),
        {
            "name": "Set up Python",
            "uses": a.SETUP_PYTHON,
            "with": {
                "python-version": ctx.options["python_version"],
                "cache": "pip",
                "cache-dependency-path": ctx.path("requirements*.txt"),
            },
        },
        run("Install dependencies", ctx.options["install_command"]),
    ]


def setup_node(ctx: Context) -> list[Step]:
    return [
        checkout(),
        {
            "name": "Set up Node.js",
            "uses": a.SETUP_NODE,
            "with": {
                "node-version": ctx.options["node_version"],
                "cache": "npm",
                "cache-dependency-path": ctx.path("package-lock.json"),
            },
        },
        run("Install dependencies", "npm ci"),
    ]


def setup_go(ctx: Context) -> list[Step]:
    return [
        checkout(),
        {
            "name": "Set up Go",
            "uses": a.SETUP_GO,
            "with": {
                "go-version": ctx.options["go_version"],
                "cache": True,
                "cache-dependency-path": ctx.path("go.sum"),
            },
        },
    ]


def setup_terraform(ctx: Context) -> list[Step]:
    return [
        checkout(),
        {
            "name": "Set up Terraform",
            "uses": a.SETUP_TERRAFORM,
            "with": {"terraform_version": ctx.options["terraform_version"]},
        },
        run("Create the provider cache", 'mkdir -p "$TF_PLUGIN_CACHE_DIR"'),
        {
            "name": "Cache providers",
            "uses": a.CACHE,
            "with": {
                "path": "~/.terraform.d/plugin-cache",
                "key": "terraform-${{ runner.os }}-${{ hashFiles('**/.terraform.lock.hcl') }}",
                "restore-keys": "terraform-${{ runner.os }}-",
            },
        },
    ]


# --- per-template build, test and deploy -----------------------------------------------------


@dataclass
class Parts:
    """A template's jobs: build and test, the deploy steps per environment, and extras."""

    build: Job
    test: Job
    deploy_steps: Callable[[str], list[Step]]
    first_deploy_needs: str = "test"
    workflow_env: dict[str, str] | None = None


def _app_parts(ctx: Context, setup: Callable[[Context], list[Step]], build_cmd: str) -> Parts:
    return Parts(
        build=job("Build", [*setup(ctx), run("Build", build_cmd)]),
        test=job("Test", [*setup(ctx), run("Test", ctx.options["test_command"])], needs="build"),
        deploy_steps=lambda env: [
            *setup(ctx),
            aws_credentials(),
            run("Deploy", ctx.options["deploy_command"]),
        ],
    )


def python_parts(ctx: Context) -> Parts:
    return _app_parts(ctx, setup_python, "python -m compileall -q .")


def node_parts(ctx: Context) -> Parts:
    return _app_parts(ctx, setup_node, ctx.options["build_command"])


def go_parts(ctx: Context) -> Parts:
    return _app_parts(ctx, setup_go, ctx.options["build_command"])


def container_parts(ctx: Context) -> Parts:
    repository = ctx.options.get("ecr_repository") or ctx.service
    image = f"{repository}:${{{{ github.sha }}}}"
    download = [
        {"name": "Download the image", "uses": a.DOWNLOAD_ARTIFACT, "with": {"name": "image"}},
        run("Load the image", "docker load --input image.tar", **{"working-directory": "."}),
    ]
    build = job(
        "Build image",
        [
            checkout(),
            {"name": "Set up Buildx", "uses": a.SETUP_BUILDX},
            {
                "name": "Build",
                "uses": a.BUILD_PUSH,
                "with": {
                    "context": ctx.wd,
                    "file": ctx.path(ctx.options["dockerfile"]),
                    "push": False,
                    "tags": image,
                    "outputs": "type=docker,dest=image.tar",
                    "cache-from": "type=gha",
                    "cache-to": "type=gha,mode=max",
                },
            },
            {
                "name": "Upload the image",
                "uses": a.UPLOAD_ARTIFACT,
                "with": {"name": "image", "path": "image.tar", "retention-days": 1},
            },
        ],
    )
    test = job(
        "Scan image",
        [
            *download,
            {
                "name": "Scan for vulnerabilities",
                "uses": a.TRIVY,
                "with": {
                    "image-ref": image,
                    "exit-code": "1",
                    "ignore-unfixed": True,
                    "severity": ctx.options["scan_severity"],
                },
            },
        ],
        needs="build",
    )

    def deploy(env: str) -> list[Step]:
        return [
            *download,
            aws_credentials(),
            {"name": "Log in to ECR", "id": "ecr", "uses": a.ECR_LOGIN},
            run(
                "Push to ECR",
                'docker tag "$IMAGE" "$REGISTRY/$IMAGE"\ndocker push "$REGISTRY/$IMAGE"\n',
                env={"REGISTRY": "${{ steps.ecr.outputs.registry }}", "IMAGE": image},
                **{"working-directory": "."},
            ),
        ]

    return Parts(build=build, test=test, deploy_steps=deploy)


def terraform_parts(ctx: Context) -> Parts:
    var_file = str(ctx.options["var_file_pattern"])
    first = ctx.environments[0] if ctx.environments else "dev"

    def init(env: str) -> list[Step]:
        return [
            run("Init", "terraform init -input=false"),
            run("Select workspace", f"terraform workspace select -or-create {env}"),
        ]

    build = job(
        "Format and validate",
        [
            *setup_terraform(ctx),
            run("Format", "terraform fmt -check -recursive"),
            run("Init (no backend)", "terraform init -backend=false -input=false"),
            run("Validate", "terraform validate -no-color"),
        ],
    )
    test = job(
        f"Plan ({first})",
        [
            *setup_terraform(ctx),
            aws_credentials(),
            *init(first),
            run(
                "Plan",
                "terraform plan -input=false -no-color -var-file="
                + var_file.replace("{environment}", first),
            ),
        ],
        needs="build",
        permissions={"contents": "read", "id-token": "write"},
        environment=first,
        **{"if": "github.event_name == 'pull_request'"},
    )

    def deploy(env: str) -> list[Step]:
        plan = var_file.replace("{environment}", env)
        return [
            *setup_terraform(ctx),
            aws_credentials(),
            *init(env),
            run("Plan", f"terraform plan -input=false -no-color -var-file={plan} -out=tfplan"),
            run("Apply", "terraform apply -input=false -no-color tfplan"),
        ]

    return Parts(
        build=build,
        test=test,
        deploy_steps=deploy,
        first_deploy_needs="build",
        workflow_env={"TF_PLUGIN_CACHE_DIR": "${{ github.workspace }}/.terraform.d/plugin-cache"},
    )


def static_site_parts(ctx: Context) -> Parts:
    output = ctx.path(ctx.options["output_directory"])
    prefix = ctx.options.get("bucket_prefix") or f"{ctx.service}-site"
    build = job(
        "Build",
        [
            *setup_node(ctx),
            run("Build", ctx.options["build_command"]),
            {
                "name": "Upload the site",
                "uses": a.UPLOAD_ARTIFACT,
                "with": {"name": "site", "path": output, "retention-days": 1},
            },
        ],
    )
    test = job("Test", [*setup_node(ctx), run("Test", ctx.options["test_command"])], needs="build")

    def deploy(env: str) -> list[Step]:
        return [
            {
                "name": "Download the site",
                "uses": a.DOWNLOAD_ARTIFACT,
                "with": {"name": "site", "path": "site"},
            },
            aws_credentials(),
            run(
                "Sync to S3",
                f'aws s3 sync site "s3://{prefix}-{env}" --delete',
                **{"working-directory": "."},
            ),
        ]

    return Parts(build=build, test=test, deploy_steps=deploy)


BUILDERS: dict[str, Callable[[Context], Parts]] = {
    PipelineTemplate.PYTHON: python_parts,
    PipelineTemplate.NODE: node_parts,
    PipelineTemplate.GO: go_parts,
    PipelineTemplate.CONTAINER: container_parts,
    PipelineTemplate.TERRAFORM: terraform_parts,
    PipelineTemplate.STATIC_SITE: static_site_parts,
}


def build_workflow(template: str, ctx: Context) -> dict[str, Any]:
    """The whole workflow document for `template` as a dict, keys in GitHub's usual order."""
    parts = BUILDERS[template](ctx)
    branches = list(ctx.options["branches"])
    jobs: dict[str, Job] = {"build": parts.build, "test": parts.test}
    previous = parts.first_deploy_needs
    for env in ctx.environments:
        job_id = f"deploy-{env}"
        jobs[job_id] = job(
            f"Deploy to {env}",
            [platform_token(), *parts.deploy_steps(env)],
            needs=previous,
            **{"if": ctx.deploy_if},
            environment=env,
            permissions={"contents": "read", "id-token": "write"},
            concurrency={
                "group": f"deploy-{env}-${{{{ github.repository }}}}",
                "cancel-in-progress": False,
            },
            env={"IDP_ENVIRONMENT": env},
        )
        previous = job_id
    workflow: dict[str, Any] = {
        "name": ctx.workflow_name,
        "on": {
            "push": {"branches": branches},
            "pull_request": {"branches": branches},
            "workflow_dispatch": {},
        },
        "permissions": {"contents": "read"},
        "concurrency": {
            "group": "${{ github.workflow }}-${{ github.ref }}",
            "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
        },
    }
    if parts.workflow_env:
        workflow["env"] = parts.workflow_env
    workflow["defaults"] = {"run": {"shell": "bash", "working-directory": ctx.wd}}
    workflow["jobs"] = jobs
    return workflow
