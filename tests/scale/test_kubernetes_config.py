"""The Kubernetes deployment, as far as it can be checked without a cluster: the Helm values, the instance
template, the Dockerfile and the definitions agree, and Dagster's own config schemas accept what they set."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT

VALUES = yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())
PROD = yaml.safe_load((ROOT / "orchestration" / "instance" / "dagster.prod.yaml").read_text())
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_chart_sets_the_run_queue_pools_and_monitoring_of_the_instance_template():
    queued = VALUES["dagsterDaemon"]["runCoordinator"]
    assert (queued["enabled"], queued["type"]) == (True, PROD["run_coordinator"]["class"])
    config = queued["config"]["queuedRunCoordinator"]
    assert config["maxConcurrentRuns"] == PROD["concurrency"]["runs"]["max_concurrent_runs"]
    assert config["tagConcurrencyLimits"] == PROD["concurrency"]["runs"]["tag_concurrency_limits"]
    assert VALUES["concurrency"]["enabled"] is True
    assert VALUES["concurrency"]["pools"]["defaultLimit"] == PROD["concurrency"]["pools"]["default_limit"] == 1
    assert {snake(k): v for k, v in VALUES["dagsterDaemon"]["runMonitoring"].items()} == PROD["run_monitoring"]
    pg = VALUES["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlScheme"] == PROD["storage"]["postgres"]["postgres_db"]["scheme"]


def test_the_code_location_the_chart_serves_is_the_one_the_image_and_workspace_load():
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"] == ["--module-name", module]
    assert f'"--module-name", "{module}"' in DOCKERFILE and f'"--port", "{deployment["port"]}"' in DOCKERFILE
    data_dir = re.search(r"NORDLEDGER_DATA_DIR=(\S+)", DOCKERFILE).group(1)
    assert [m["mountPath"] for m in deployment["volumeMounts"]] == [data_dir]
    assert "-r requirements/scale.txt" in DOCKERFILE and "--require-hashes" in DOCKERFILE


def test_dagsters_schemas_accept_the_run_launcher_and_the_step_executor_config():
    from dagster._config import validate_config
    from dagster_k8s import K8sRunLauncher, k8s_job_executor

    chart = VALUES["runLauncher"]
    assert chart["type"] == "K8sRunLauncher"
    launcher = {snake(k): v for k, v in chart["config"]["k8sRunLauncher"].items()}
    launcher.update(instance_config_map="nordledger-instance", dagster_home="/opt/dagster/dagster_home")
    result = validate_config(K8sRunLauncher.config_type(), launcher)
    assert result.success, result.errors
    assert not validate_config(K8sRunLauncher.config_type(), {**launcher, "no_such_field": 1}).success
    step = {"job_namespace": "nordledger", "env_secrets": ["nordledger-credentials"], "max_concurrent": 4}
    assert validate_config(k8s_job_executor.config_schema.config_type, step).success


def test_nordledger_executor_k8s_gives_every_job_the_kubernetes_step_executor(monkeypatch, tmp_path):
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline

    monkeypatch.setenv("NORDLEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NORDLEDGER_EXECUTOR", "k8s")
    pipeline = build_pipeline(load_settings())
    names = {pipeline.defs.resolve_job_def(job.name).executor_def.name for job in pipeline.jobs.extract}
    assert names == {"k8s"}
