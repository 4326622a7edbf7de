"""Every third-party action a generated workflow uses, pinned to a released major version.

Versions are the ones actionlint knows as current (no deprecated runtimes); bump them here.
"""

CHECKOUT = "actions/checkout@v6"
SETUP_PYTHON = "actions/setup-python@v6"
SETUP_NODE = "actions/setup-node@v6"
SETUP_GO = "actions/setup-go@v6"
CACHE = "actions/cache@v5"
UPLOAD_ARTIFACT = "actions/upload-artifact@v6"
DOWNLOAD_ARTIFACT = "actions/download-artifact@v7"
CONFIGURE_AWS = "aws-actions/configure-aws-credentials@v6"
ECR_LOGIN = "aws-actions/amazon-ecr-login@v2"
SETUP_BUILDX = "docker/setup-buildx-action@v4"
BUILD_PUSH = "docker/build-push-action@v7"
TRIVY = "aquasecurity/trivy-action@0.28.0"
SETUP_TERRAFORM = "hashicorp/setup-terraform@v3"
