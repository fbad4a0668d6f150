"""deploy/kubernetes/: every manifest validates against the Kubernetes schemas of a
current release (kubernetes-validate), and every pod meets the restricted Pod
Security Standard field by field (the namespace also enforces it at admission)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import latest_version

from tests.deploy.support import KUBERNETES, load_all, load_yaml

VERSION = "1.37.0"  # the newest kubernetes-validate 1.37.0 knows; keep it current
KUSTOMIZATION = load_yaml(KUBERNETES / "kustomization.yaml")
MANIFESTS = [KUBERNETES / name for name in KUSTOMIZATION["resources"]]
DOCS = {(d["kind"], d["metadata"]["name"]): d for p in MANIFESTS for d in load_all(p)}
# Volume types the restricted profile allows.
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def test_the_version_is_current() -> None:
    assert latest_version() == VERSION


def test_the_base_lists_every_manifest() -> None:
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == on_disk
    kinds = {kind for kind, _ in DOCS}
    assert {"Deployment", "Job", "Service", "PodDisruptionBudget"} <= kinds
    assert {"HorizontalPodAutoscaler", "NetworkPolicy", "ConfigMap", "Namespace"} <= kinds


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_validates(path: Any) -> None:
    for doc in load_all(path):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_validation_can_fail() -> None:
    broken = dict(DOCS[("Service", "strongroom")])
    broken["spec"] = {**broken["spec"], "type": 42}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_optional_service_monitor_is_a_component() -> None:
    component = load_yaml(KUBERNETES / "servicemonitor" / "kustomization.yaml")
    assert component["kind"] == "Component"
    (monitor,) = load_all(KUBERNETES / "servicemonitor" / "servicemonitor.yaml")
    assert monitor["kind"] == "ServiceMonitor" and monitor["spec"]["endpoints"][0]["path"] == (
        "/metrics"
    )


def pods() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{kind}/{name}", doc["spec"]["template"]["spec"])
        for (kind, name), doc in DOCS.items()
        if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    ]


@pytest.mark.parametrize(("name", "pod"), pods(), ids=[n for n, _ in pods()])
def test_restricted_pod_security(name: str, pod: dict[str, Any]) -> None:
    ctx = pod["securityContext"]
    # Pod level: non-root, a fixed non-zero UID, RuntimeDefault seccomp; no host namespaces.
    assert ctx["runAsNonRoot"] is True
    assert ctx["runAsUser"] != 0 and ctx["runAsGroup"] != 0
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert pod.get(host) in (None, False), (name, host)
    assert pod["automountServiceAccountToken"] is False
    assert "sysctls" not in ctx
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        assert kinds <= RESTRICTED_VOLUMES, (name, volume["name"], kinds)
    containers = pod["containers"] + pod.get("initContainers", [])
    for c in containers:
        sc = c["securityContext"]
        where = (name, c["name"])
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["runAsNonRoot"] is True, where
        assert sc["capabilities"] == {"drop": ["ALL"]}, where
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert sc.get("privileged") in (None, False), where
        assert "runAsUser" not in sc or sc["runAsUser"] != 0, where
        assert all("hostPort" not in p for p in c.get("ports", [])), where
        assert c["resources"]["limits"] and c["resources"]["requests"], where


def secret_refs(pod: dict[str, Any]) -> set[str]:
    return {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}


def test_secrets_are_an_existing_secret_read_as_files() -> None:
    for name, pod in pods():
        assert secret_refs(pod) == {"strongroom"}, name
        for c in pod["containers"]:
            for env in c.get("env", []):
                assert "valueFrom" not in env, (name, env["name"])  # files, not env values
                if any(w in env["name"] for w in ("PASSWORD", "TOKEN", "DATABASE_URL")):
                    assert env["name"].endswith("_FILE"), (name, env["name"])
    assert not [k for k, _ in DOCS if k == "Secret"]  # made by the operator, not shipped


def test_migration_job_and_rollout() -> None:
    job = DOCS[("Job", "strongroom-migrate")]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"][:1] == ["migrate"]
    deployment = DOCS[("Deployment", "strongroom")]["spec"]
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = deployment["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert DOCS[("PodDisruptionBudget", "strongroom")]["spec"]["minAvailable"] >= 1
    assert DOCS[("HorizontalPodAutoscaler", "strongroom")]["spec"]["minReplicas"] >= 2
    labels = DOCS[("Namespace", "strongroom")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_egress_only_to_dns_database_redis_and_kms() -> None:
    policy = DOCS[("NetworkPolicy", "strongroom")]["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {53, 5432, 6379, 8200}
    assert all(rule.get("to") for rule in policy["egress"])  # never "anywhere"


# What `kubectl apply -k` applies: the base's transformers (namespace, labels, image
# tags) over its resources, rendered here since no kustomize binary runs on this
# machine. Only the transformers the base uses are implemented; a new one fails here.
CLUSTER_SCOPED = {"Namespace"}
TRANSFORMERS = {"apiVersion", "kind", "namespace", "labels", "resources", "images"}


def rendered() -> list[dict[str, Any]]:
    assert set(KUSTOMIZATION) <= TRANSFORMERS, set(KUSTOMIZATION) - TRANSFORMERS
    tags = {i["name"]: f"{i['name']}:{i['newTag']}" for i in KUSTOMIZATION.get("images", [])}
    out = []
    for path in MANIFESTS:
        for doc in load_all(path):
            meta = doc["metadata"]
            if doc["kind"] not in CLUSTER_SCOPED:
                meta["namespace"] = KUSTOMIZATION["namespace"]
            for entry in KUSTOMIZATION.get("labels", []):
                assert entry.get("includeSelectors") is False and not entry.get("includeTemplates")
                meta["labels"] = {**meta.get("labels", {}), **entry["pairs"]}
            template = doc.get("spec", {}).get("template", {}).get("spec", {})
            for c in template.get("containers", []) + template.get("initContainers", []):
                c["image"] = tags.get(c["image"], c["image"])
            out.append(doc)
    return out


def test_rendered_manifests_validate_and_land_in_the_namespace() -> None:
    docs = rendered()
    (namespace,) = [d for d in docs if d["kind"] == "Namespace"]
    for doc in docs:
        kubernetes_validate.validate(doc, VERSION, strict=True)
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"]["namespace"] == namespace["metadata"]["name"], doc["kind"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "strongroom"
        template = doc.get("spec", {}).get("template", {}).get("spec", {})
        for c in template.get("containers", []) + template.get("initContainers", []):
            name, _, tag = c["image"].rpartition(":")
            assert name and tag and tag != "latest", (doc["kind"], c["name"], c["image"])


def test_the_service_monitor_authenticates_as_the_service_accepts() -> None:
    """The service reads ``X-API-Key`` or ``Authorization: Bearer`` (api/deps.py); a
    ServiceMonitor cannot send the header, and ``authorization.type: ApiKey`` would
    send ``Authorization: ApiKey ...``, which no route accepts (every scrape a 401)."""
    (monitor,) = load_all(KUBERNETES / "servicemonitor" / "servicemonitor.yaml")
    (endpoint,) = monitor["spec"]["endpoints"]
    if "authorization" in endpoint:
        assert endpoint["authorization"].get("type", "Bearer") == "Bearer", endpoint
    else:
        oauth2 = endpoint["oauth2"]  # client credentials: Prometheus refreshes the token
        assert oauth2["tokenUrl"].startswith("https://")
        assert oauth2["clientId"]["secret"]["name"] == oauth2["clientSecret"]["name"]
