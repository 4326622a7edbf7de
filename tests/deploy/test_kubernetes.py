"""The Kubernetes manifests in deploy/kubernetes, checked offline: every object against the
bundled schemas of a pinned Kubernetes version (kubernetes-validate), the kustomizations'
references, and the promises of a multi-AZ deployment (spread, probes, autoscalers,
disruption budgets, one beat, network policies). Where a kustomize is at hand (`kubectl
kustomize`), the production overlay is rendered and every rendered object validated too."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

# The EKS version of the eks-cluster template's default: validate against what runs.
KUBERNETES_VERSION = "1.33.0"
ROOT = Path(settings.BASE_DIR) / "deploy" / "kubernetes"
BASE = ROOT / "base"
PRODUCTION = ROOT / "overlays" / "production"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return loaded


def resource_files(folder: Path) -> Iterator[Path]:
    """The manifest files a kustomization lists (not other kustomizations, not patches)."""
    for entry in kustomization(folder).get("resources", []):
        path = (folder / entry).resolve()
        if path.is_file():
            yield path


def key(doc: dict[str, Any]) -> tuple[str, str, str]:
    return doc["apiVersion"], doc["kind"], doc["metadata"]["name"]


def base_objects() -> dict[tuple[str, str, str], dict[str, Any]]:
    return {key(doc): doc for path in resource_files(BASE) for doc in documents(path)}


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {name: doc for (_, k, name), doc in base_objects().items() if k == kind}


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("Deployment", "Job"):
        for name, doc in by_kind(kind).items():
            yield name, doc["spec"]["template"]["spec"]


def validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


MANIFESTS = sorted(
    {path for folder in (BASE, PRODUCTION) for path in resource_files(folder)},
    key=lambda p: str(p),
)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_manifest_validates_against_the_pinned_kubernetes_schemas(path: Path) -> None:
    docs = documents(path)
    assert docs, f"{path.name} is empty"
    for doc in docs:
        validate(doc)


def test_a_broken_manifest_is_refused() -> None:
    """The validation can fail: an unknown field (strict) and a wrong type are errors."""
    web = by_kind("Deployment")["idp-web"]
    typo = {**web, "spec": {**web["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(typo)
    wrong = {**web, "spec": {**web["spec"], "replicas": "three"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong)


def test_every_file_is_listed_and_every_listed_file_exists() -> None:
    for folder in (BASE, PRODUCTION):
        listed = kustomization(folder)
        for entry in listed.get("resources", []):
            target = (folder / entry).resolve()
            assert target.is_file() or (target / "kustomization.yaml").is_file(), entry
        for patch in listed.get("patches", []):
            assert (folder / patch["path"]).is_file(), patch
    patches = {p["path"] for p in kustomization(PRODUCTION)["patches"]}
    in_overlay = {p.name for p in PRODUCTION.glob("*.yaml")} - {"kustomization.yaml"}
    assert in_overlay == patches | {p.name for p in resource_files(PRODUCTION)}
    assert {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"} == {
        p.name for p in resource_files(BASE)
    }


def test_the_production_patches_target_objects_of_the_base() -> None:
    objects = base_objects()
    for patch in kustomization(PRODUCTION)["patches"]:
        for doc in documents(PRODUCTION / patch["path"]):
            assert key(doc) in objects, f"{patch['path']}: {key(doc)} is not in the base"
    images = {c["image"].split(":")[0] for _, spec in pod_specs() for c in spec["containers"]}
    assert {i["name"] for i in kustomization(PRODUCTION)["images"]} == images


def test_the_portal_is_spread_over_zones_probed_scaled_and_protected() -> None:
    web = by_kind("Deployment")["idp-web"]
    assert web["spec"]["replicas"] >= 2
    spec = web["spec"]["template"]["spec"]
    labels = web["spec"]["template"]["metadata"]["labels"]
    zone = next(
        c
        for c in spec["topologySpreadConstraints"]
        if c["topologyKey"] == "topology.kubernetes.io/zone"
    )
    assert zone["whenUnsatisfiable"] == "DoNotSchedule" and zone["maxSkew"] == 1
    assert zone["labelSelector"]["matchLabels"].items() <= labels.items()
    container = spec["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"

    hpa = by_kind("HorizontalPodAutoscaler")["idp-web"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "idp-web"
    assert hpa["spec"]["minReplicas"] >= 2
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    assert metrics["Pods"]["pods"]["metric"]["name"] == "idp_http_requests_per_second"

    pdb = by_kind("PodDisruptionBudget")["idp-web"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    production_pdb = documents(PRODUCTION / "web-pdb.yaml")[0]
    production_hpa = documents(PRODUCTION / "web-hpa.yaml")[0]
    assert production_pdb["spec"]["minAvailable"] < production_hpa["spec"]["minReplicas"]


def test_workers_scale_on_queue_depth_and_beat_runs_once() -> None:
    hpa = by_kind("HorizontalPodAutoscaler")["idp-worker"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "idp-worker"
    external = next(m for m in hpa["spec"]["metrics"] if m["type"] == "External")
    assert external["external"]["metric"]["name"] == "idp_queue_depth"
    beat = by_kind("Deployment")["idp-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert "idp-beat" not in by_kind("HorizontalPodAutoscaler")
    # The locked scheduler is the settings' default (idp.beat_lock): no pod replaces it.
    from django.conf import settings

    module, _, name = settings.CELERY_BEAT_SCHEDULER.partition(":")
    assert module == "idp.beat_lock"
    assert getattr(__import__(module, fromlist=[name]), name)  # a typo would crash-loop beat
    for pod, spec in pod_specs():
        for container in spec["containers"]:
            args = [*container.get("command", []), *container.get("args", [])]
            assert not [a for a in args if a.startswith("--scheduler") or a == "-S"], pod
    # A worker that is scaled in may finish the longest run first (warm shutdown).

    worker = by_kind("Deployment")["idp-worker"]["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] >= settings.CELERY_TASK_TIME_LIMIT
    job = by_kind("Job")["idp-migrate"]
    assert "migrate --no-input" in " ".join(
        job["spec"]["template"]["spec"]["containers"][0]["command"]
    )


def test_every_pod_is_locked_down_and_configured_from_parameter_store() -> None:
    accounts = by_kind("ServiceAccount")
    config = by_kind("ConfigMap")["idp-config"]["data"]
    assert config["IDP_CONFIG_SSM_PREFIX"].startswith("/idp/config/")
    assert "localhost" in config["IDP_ALLOWED_HOSTS"].split(",")  # the probes' Host
    for name, spec in pod_specs():
        assert spec["serviceAccountName"] in accounts, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert {"configMapRef": {"name": "idp-config"}} in container["envFrom"], name
            assert "memory" in container["resources"]["limits"], name
            # No secret value in a manifest: only references.
            assert "env" not in container, name
    for account in accounts.values():
        assert account["automountServiceAccountToken"] is False
    production = documents(PRODUCTION / "serviceaccounts.yaml")
    roles = {doc["metadata"]["name"]: doc["metadata"]["annotations"] for doc in production}
    assert set(roles) == set(accounts)
    for name, given in roles.items():
        assert given["eks.amazonaws.com/role-arn"].endswith(f":role/{name}")


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def test_every_pod_runs_as_the_image_user_and_writes_only_its_folders() -> None:
    """The image's unprivileged uid (Dockerfile USER), a read-only root, and writable mounts
    exactly where the processes write; none hides what the image carries (the collected
    static files under /app/var/static: an emptyDir over /app/var left the portal unstyled)."""
    from .test_compose import image_uid, in_container

    uid = image_uid()
    config = by_kind("ConfigMap")["idp-config"]["data"]
    static = in_container(settings.STATIC_ROOT)
    for name, spec in pod_specs():
        context = spec["securityContext"]
        assert context["runAsUser"] == uid and context["runAsGroup"] == uid, name
        for container in spec["containers"]:
            own = container["securityContext"]
            assert own.get("runAsUser", uid) != 0 and not own.get("privileged"), name
            targets = [m["mountPath"] for m in container.get("volumeMounts", [])]
            assert not [t for t in targets if _under(static, t)], (name, targets)
            needed = [config["HOME"], config["IDP_WORK_DIR"]]
            if name == "idp-worker":
                needed.append(config["TF_PLUGIN_CACHE_DIR"])
            needed += [
                a.removeprefix("--schedule=")
                for a in container["command"]
                if a.startswith("--schedule=")
            ]
            for path in needed:
                assert any(_under(path, t) for t in targets), (name, path)


def test_network_policies_deny_by_default_and_open_only_the_portal_port() -> None:
    policies = by_kind("NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    ingress_rules = [
        (name, rule)
        for name, policy in policies.items()
        for rule in policy["spec"].get("ingress", [])
    ]
    assert [name for name, _ in ingress_rules] == ["web-ingress"]
    assert ingress_rules[0][1]["ports"] == [{"protocol": "TCP", "port": 8000}]
    egress_ports = {
        port["port"]
        for policy in policies.values()
        for rule in policy["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }
    assert egress_ports == {53, 443, 5432, 6379}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kustomize (kubectl) here")
def test_the_production_overlay_renders_and_every_rendered_object_validates() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(PRODUCTION)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    for doc in docs:
        validate(doc)
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert all(d["metadata"].get("namespace", "idp") == "idp" for d in docs)
    assert objects[("Deployment", "idp-web")]["spec"]["replicas"] == 3
    assert objects[("HorizontalPodAutoscaler", "idp-web")]["spec"]["metrics"]  # kept
    assert objects[("ConfigMap", "idp-config")]["data"]["IDP_CONFIG_SSM_PREFIX"] == (
        "/idp/config/prod"
    )
    image = objects[("Deployment", "idp-worker")]["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert image.endswith(".amazonaws.com/idp:1.0.0")
    assert ("Ingress", "idp-web") in objects and ("Job", "idp-migrate") in objects
