"""deploy/k8s/: every manifest valid for a current Kubernetes (kubernetes-validate, strict), and
the promises the manifests make checked one by one: probes, non-root, read-only root, resources,
selectors that select, ports that exist, secrets documented and never committed, network
policies around every pod, variable names the code reads.

Rendered with `kubectl kustomize` when kubectl is installed; otherwise every resource file the
kustomizations list is checked as written (patches and generated ConfigMaps aside)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from common.grpc_server import LIVENESS
from devkit.processes import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.37"  # the newest version kubernetes-validate 1.37.0 ships schemas for
OURS = "voice-booking"  # the image docker-compose.yml builds from the Dockerfile
OTHER_IMAGES = {"postgres"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
SERVICES = ("availability", "reservation", "notification")
Doc = dict[str, Any]


def kustomization(folder: Path) -> Doc:
    loaded: Doc = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return loaded


def as_written(folder: Path) -> list[Doc]:
    """Every resource a kustomization lists (folders followed), as written."""
    docs: list[Doc] = []
    for entry in kustomization(folder).get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            docs += as_written(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


@cache
def rendered(name: str) -> tuple[Doc, ...]:
    folder = K8S / name
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return tuple(as_written(folder))
    done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True, timeout=60)
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


SUITES = ["base", "overlays/dev"]


def generated_config_maps(name: str) -> set[str]:
    """ConfigMap names kustomize generates (kubectl absent: referenced before the hash is added)."""
    if shutil.which("kubectl"):
        return set()
    return {g["name"] for g in kustomization(K8S / name).get("configMapGenerator", [])}


def all_yaml_files() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


# --- every document is valid -------------------------------------------------------------------------------
@cache
def _validate(canonical: str) -> None:
    kubernetes_validate.validate(json.loads(canonical), KUBERNETES, strict=True)


def validate(doc: Doc) -> None:
    """Strict validation, once per distinct document (base and overlay share most of theirs)."""
    _validate(json.dumps(doc, sort_keys=True))


@pytest.mark.parametrize("name", SUITES)
def test_every_rendered_manifest_validates_strictly(name: str) -> None:
    docs = rendered(name)
    assert len(docs) > 20
    for doc in docs:
        validate(doc)


def test_every_resource_file_validates_strictly_as_written() -> None:
    for name in SUITES:
        for doc in as_written(K8S / name):
            validate(doc)


def test_strict_validation_catches_a_misspelled_field() -> None:
    deployment = next(d for d in rendered("base") if d["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_no_secret_is_committed() -> None:
    for path in all_yaml_files():
        for doc in yaml.safe_load_all(path.read_text()):
            assert not (doc and doc.get("kind") == "Secret"), path


def test_the_dev_clinic_file_is_the_repositorys() -> None:
    assert (K8S / "overlays/dev/clinics/demo.yaml").read_text() == (ROOT / "clinics/demo.yaml").read_text()


def test_the_image_is_the_one_docker_compose_builds() -> None:
    assert f"image: {OURS}:latest" in (ROOT / "docker-compose.yml").read_text()


# --- workloads -----------------------------------------------------------------------------------------------
def workloads(docs: tuple[Doc, ...]) -> list[Doc]:
    return [d for d in docs if d["kind"] in WORKLOADS]


def pod_labels(workload: Doc) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def containers(workload: Doc) -> list[Doc]:
    spec = workload["spec"]["template"]["spec"]
    found: list[Doc] = spec["containers"] + spec.get("initContainers", [])
    return found


def image_name(container: Doc) -> str:
    return str(container["image"]).rsplit("/", 1)[-1].split(":")[0].split("@")[0]


def env_values(container: Doc) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def ports(container: Doc) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def hardening_problems(workload: Doc) -> Iterator[str]:
    name = f"{workload['kind']}/{workload['metadata']['name']}"
    pod = workload["spec"]["template"]["spec"]
    pod_security = pod.get("securityContext", {})
    if pod.get("automountServiceAccountToken") is not False:
        yield f"{name}: mounts a service account token"
    if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        yield f"{name}: no RuntimeDefault seccomp profile"
    for container in containers(workload):
        security = container.get("securityContext", {})
        where = f"{name}/{container['name']}"
        if security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is not True:
            yield f"{where}: may run as root"
        if security.get("readOnlyRootFilesystem") is not True:
            yield f"{where}: writable root filesystem"
        if security.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: privilege escalation allowed"
        if "ALL" not in security.get("capabilities", {}).get("drop", []):
            yield f"{where}: capabilities not dropped"
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(kind, {})):
                yield f"{where}: no cpu and memory {kind}"
        if image_name(container) not in {OURS, *OTHER_IMAGES}:
            yield f"{where}: unknown image {container['image']}"


def is_hpa_of(doc: Doc, deployment: str) -> bool:
    return bool(doc["kind"] == "HorizontalPodAutoscaler" and doc["spec"]["scaleTargetRef"]["name"] == deployment)


def probe_problems(deployment: Doc) -> Iterator[str]:
    """gRPC servers: native gRPC probes on their port (liveness asks for LIVENESS, readiness for
    the overall status); the gateway: /health and /ready over HTTP."""
    for container in containers(deployment):
        where = f"Deployment/{deployment['metadata']['name']}/{container['name']}"
        live, ready = container.get("livenessProbe"), container.get("readinessProbe")
        if not live or not ready:
            yield f"{where}: no liveness or readiness probe"
            continue
        named = ports(container)
        if "grpc" in named:
            if live.get("grpc") != {"port": named["grpc"], "service": LIVENESS}:
                yield f"{where}: liveness is not the gRPC '{LIVENESS}' check on its port"
            if ready.get("grpc") != {"port": named["grpc"]}:
                yield f"{where}: readiness is not the overall gRPC health check on its port"
        elif "http" in named:
            if (live.get("httpGet", {}).get("path"), ready.get("httpGet", {}).get("path")) != ("/health", "/ready"):
                yield f"{where}: HTTP probes are not /health and /ready"
        else:
            yield f"{where}: serves neither gRPC nor HTTP"


@pytest.mark.parametrize("name", SUITES)
def test_every_workload_is_hardened_and_sized(name: str) -> None:
    assert [p for w in workloads(rendered(name)) for p in hardening_problems(w)] == []


@pytest.mark.parametrize("name", SUITES)
def test_every_deployment_has_two_replicas_probes_and_a_pdb_and_hpa(name: str) -> None:
    docs = rendered(name)
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted([*SERVICES, "gateway"])
    assert [p for d in deployments for p in probe_problems(d)] == []
    assert all(d["spec"]["replicas"] >= 2 for d in deployments)
    for deployment in deployments:
        labels = pod_labels(deployment)
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget" and selects(d["spec"]["selector"], labels)]
        assert len(pdbs) == 1, deployment["metadata"]["name"]
        named = deployment["metadata"]["name"]
        hpas = [d for d in docs if is_hpa_of(d, named)]
        assert len(hpas) == 1 and hpas[0]["spec"]["minReplicas"] >= 2, named


@pytest.mark.parametrize("name", SUITES)
def test_ports_and_variables_agree_with_the_code(name: str) -> None:
    """Each process listens where its *_PORT says, declares its metrics port (*_METRICS_PORT),
    every variable is one the README documents, and each *_ADDR names a Service's port."""
    docs = rendered(name)
    documented = documented_variables()
    services_spec = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Service"}
    services = {name: {p["port"] for p in spec["ports"]} for name, spec in services_spec.items()}
    for workload in workloads(docs):
        for container in containers(workload):
            if image_name(container) != OURS:
                continue
            names = {e["name"] for e in container.get("env", [])}
            assert names <= documented, names - documented
            values = env_values(container)
            component = pod_labels(workload)["app.kubernetes.io/component"]
            if workload["kind"] == "Deployment":
                prefix = component.upper()
                assert ports(container)["metrics"] == int(values[f"{prefix}_METRICS_PORT"])
                assert ports(container)["http" if component == "gateway" else "grpc"] == int(values[f"{prefix}_PORT"])
                assert values["BIND_HOST"] == "0.0.0.0"
            for variable, address in values.items():
                if variable.endswith("_ADDR"):  # a headless Service's name: gRPC balances over its pods
                    host, port = address.removeprefix("dns:///").rsplit(":", 1)
                    assert address.startswith("dns:///"), address
                    assert host == variable.removesuffix("_ADDR").lower() and int(port) in services[host], address
                    assert services_spec[host].get("clusterIP") == "None", host


def documented_variables() -> set[str]:
    """The variables of the README's Configuration table (names in backticks in its first column)."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


# --- services, references, secrets -------------------------------------------------------------------------
def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions In/NotIn/Exists) against labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
            "Exists": key in labels, "DoesNotExist": key not in labels,
        }[operator]  # fmt: skip
        if not matched:
            return False
    return True


@pytest.mark.parametrize("name", SUITES)
def test_every_service_selects_pods_and_targets_a_named_port_they_have(name: str) -> None:
    docs = rendered(name)
    for service in (d for d in docs if d["kind"] == "Service"):
        pods = [w for w in workloads(docs) if selects({"matchLabels": service["spec"]["selector"]}, pod_labels(w))]
        assert pods, service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            for pod in pods:
                named = {n: p for c in containers(pod) for n, p in ports(c).items()}
                assert named.get(port["targetPort"]) == port["port"], (service["metadata"]["name"], port)


def references(docs: tuple[Doc, ...]) -> Iterator[tuple[str, str, str]]:
    """(kind, name, key) of every Secret and ConfigMap key the pods read ("" for whole volumes)."""
    for workload in workloads(docs):
        for container in containers(workload):
            for env in container.get("env", []):
                source = env.get("valueFrom", {})
                if "secretKeyRef" in source:
                    yield "Secret", source["secretKeyRef"]["name"], source["secretKeyRef"]["key"]
                if "configMapKeyRef" in source:
                    yield "ConfigMap", source["configMapKeyRef"]["name"], source["configMapKeyRef"]["key"]
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                yield "ConfigMap", volume["configMap"]["name"], ""
            if "secret" in volume:
                yield "Secret", volume["secret"]["secretName"], ""


@pytest.mark.parametrize("name", SUITES)
def test_every_config_map_read_exists_with_its_key(name: str) -> None:
    docs = rendered(name)
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    generated = generated_config_maps(name)
    for kind, map_name, key in references(docs):
        if kind == "ConfigMap" and map_name not in generated:
            assert map_name in maps and (key == "" or key in maps[map_name]), (map_name, key)


def documented_secrets() -> set[tuple[str, str]]:
    """(secret, key) pairs the deployment README creates with `kubectl create secret generic`."""
    text = (K8S / "README.md").read_text().replace("\\\n", " ")
    pairs: set[tuple[str, str]] = set()
    for command in re.findall(r"kubectl [^\n]*create secret generic [^\n]*", text):
        secret = re.search(r"create secret generic ([a-z0-9-]+)", command)
        assert secret is not None
        pairs |= {(secret.group(1), key) for key in re.findall(r"--from-literal=([A-Z0-9_]+)=", command)}
    return pairs


def test_every_secret_key_read_is_created_in_the_deployment_readme() -> None:
    read = {(n, k) for name in SUITES for kind, n, k in references(rendered(name)) if kind == "Secret"}
    assert {"booking-database", "booking-internal", "booking-twilio"} <= {n for n, _ in read}
    assert read - documented_secrets() == set()


# --- network policies -------------------------------------------------------------------------------------
def policies(docs: tuple[Doc, ...]) -> list[Doc]:
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


def selecting(docs: tuple[Doc, ...], labels: dict[str, str]) -> list[Doc]:
    """The network policies that name these pods (the default deny, which selects all, aside)."""
    return [p for p in policies(docs) if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)]


def component_policies(docs: tuple[Doc, ...], component: str) -> list[Doc]:
    pods = [pod_labels(w) for w in workloads(docs)]
    return selecting(docs, next(p for p in pods if p.get("app.kubernetes.io/component") == component))


def rule_ports(rule: Doc) -> set[object]:
    return {p["port"] for p in rule.get("ports", [])}


@pytest.mark.parametrize("name", SUITES)
def test_network_policies_deny_by_default_and_cover_every_pod(name: str) -> None:
    docs = rendered(name)
    deny = [p for p in policies(docs) if p["spec"]["podSelector"] == {}]
    assert len(deny) == 1 and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny[0]["spec"] and "egress" not in deny[0]["spec"]
    for workload in workloads(docs):
        assert selecting(docs, pod_labels(workload)), workload["metadata"]["name"]


@pytest.mark.parametrize("name", SUITES)
def test_only_our_pods_reach_the_services_and_only_the_services_reach_postgresql(name: str) -> None:
    docs = rendered(name)
    ours = {pod_labels(w)["app.kubernetes.io/component"] for w in workloads(docs)}
    for component in SERVICES:
        for policy in component_policies(docs, component):
            for rule in policy["spec"].get("ingress", []):
                if rule_ports(rule) == {"metrics"}:
                    continue  # Prometheus, in the monitoring namespace
                peers = rule.get("from", [])
                assert peers, f"{policy['metadata']['name']}: {component} open to anyone"
                for peer in peers:
                    assert set(peer) == {"podSelector"}, peer  # in this namespace, a pod of ours
                    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] in ours - {"migrate"}
    gateway_ingress = [r for p in component_policies(docs, "gateway") for r in p["spec"].get("ingress", [])]
    assert any("from" not in r and rule_ports(r) == {"http"} for r in gateway_ingress)  # reachable from outside
    for component in ("gateway", "load-clinic"):
        if component in ours:
            egress = [r for p in component_policies(docs, component) for r in p["spec"].get("egress", [])]
            assert all(5432 not in rule_ports(r) for r in egress), component
    for component in (*SERVICES, "migrate"):
        egress = [r for p in component_policies(docs, component) for r in p["spec"].get("egress", [])]
        assert any(rule_ports(r) == {5432} for r in egress), component
    twilio = [r for p in component_policies(docs, "notification") for r in p["spec"].get("egress", [])]
    assert any(rule_ports(r) == {443} for r in twilio)
    dns = [p for p in policies(docs) if any(rule_ports(r) == {53} for r in p["spec"].get("egress", []))]
    assert all(any(selects(p["spec"]["podSelector"], pod_labels(w)) for p in dns) for w in workloads(docs))


def test_the_dev_database_admits_only_the_services_and_the_migration() -> None:
    docs = rendered("overlays/dev")
    database = next(w for w in workloads(docs) if w["metadata"]["name"] == "postgres")
    guard = selecting(docs, pod_labels(database))
    admitted = {
        pod_labels(w)["app.kubernetes.io/component"]
        for w in workloads(docs)
        for p in guard
        for rule in p["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if selects(peer["podSelector"], pod_labels(w))
    }
    assert admitted == {*SERVICES, "migrate"}
