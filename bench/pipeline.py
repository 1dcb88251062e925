"""The real pipeline on a bench fixture: `python -m bench.pipeline <workdir> <repeats> [concurrent]`.

Loads the definitions the way `make demo` does, materializes everything from an empty Dagster
instance (`concurrent`: each ERP's jobs in a process of their own, all ERPs at once, as the run queue
would), and reads the instance's event log for run and step times. Then, on the lake that
produced, times `dbt build` and `dbt run` directly and the same models' compiled SQL executed in
DuckDB without dbt (the direct-SQL baseline), and `publish`. Prints one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXTRACT_STEP = "raw__"


def step_times(instance, run_ids: list[str]) -> tuple[dict[str, float], float]:
    """Seconds per step key (summed over runs), and the wall time in which any step was running."""
    import dagster as dg

    starts, seconds, spans = {}, {}, []
    for run_id in run_ids:
        for record in instance.all_logs(
            run_id,
            of_type={
                dg.DagsterEventType.STEP_START,
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            },
        ):
            key = (run_id, record.step_key)
            if record.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                starts[key] = record.timestamp
            elif key in starts:
                seconds[record.step_key] = seconds.get(record.step_key, 0.0) + record.timestamp - starts[key]
                spans.append((starts[key], record.timestamp))
    busy, reached = 0.0, float("-inf")
    for start, end in sorted(spans):  # the union of the steps' intervals (concurrent runs overlap)
        busy += max(0.0, end - max(start, reached))
        reached = max(reached, end)
    return seconds, busy


def run_pipeline(work: Path, concurrent: bool = False) -> dict:
    import dagster as dg

    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.runner import materialize_all, materialize_concurrently

    settings = load_settings()
    started = time.perf_counter()
    pipeline = build_pipeline(settings)
    loaded = time.perf_counter() - started
    with dg.DagsterInstance.get() as instance:
        runner = materialize_concurrently if concurrent else materialize_all
        results = runner(pipeline, instance, log=lambda *_: None)
        total = time.perf_counter() - started
        if not all(r.success for r in results):
            raise SystemExit("pipeline failed: " + ", ".join(r.run_id for r in results if not r.success))
        steps, busy = step_times(instance, [r.run_id for r in results])
        runs = instance.get_runs_count()
    extract = sum(v for k, v in steps.items() if k.startswith((EXTRACT_STEP, "bank")))
    by_erp: dict[str, float] = {}
    for key, value in steps.items():
        if key.startswith(EXTRACT_STEP):  # raw__<erp>__<endpoint>
            erp = key.removeprefix(EXTRACT_STEP).split("__")[0]
            by_erp[erp] = round(by_erp.get(erp, 0.0) + value, 2)
    dbt = sum(v for k, v in steps.items() if "warehouse_models" in k)
    publish = sum(v for k, v in steps.items() if "publish" in k)
    return {
        "seconds": total,
        "runs": runs,
        "definitions_s": round(loaded, 2),
        "extract_steps_s": round(extract, 2),
        "extract_steps_by_erp_s": by_erp,
        "dbt_step_s": round(dbt, 2),
        "publish_step_s": round(publish, 2),
        "in_steps_wall_s": round(busy, 2),
        "outside_steps_s": round(total - busy, 2),
        "concurrent_erps": concurrent,
        "settings": settings,
    }


def dbt_command(args: list[str], settings, target: Path) -> float:
    from assets.transform import FILE_LOG, dbt_executable, prepare_dbt_build
    from connectors.companies import load_companies
    from connectors.settings import DBT_PROJECT_DIR

    config = load_companies(settings.companies_file, require_env=False)
    command = [
        dbt_executable(),
        *args,
        *FILE_LOG,  # the warehouse step's file log
        "--vars",
        prepare_dbt_build(config, settings),
        "--target-path",
        str(target),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--quiet",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def direct_sql(build_db: Path, target: Path, work: Path) -> float:
    """Every model's compiled SQL, in dependency order, straight into DuckDB (no dbt)."""
    import duckdb

    manifest = json.loads((target / "manifest.json").read_text())
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    order, seen = [], set()

    def visit(key):
        if key in seen or key not in models:
            return
        seen.add(key)
        for parent in models[key]["depends_on"]["nodes"]:
            visit(parent)
        order.append(models[key])

    for key in sorted(models):
        visit(key)
    copy_dir = work / "direct"
    copy_dir.mkdir(exist_ok=True)
    copy = copy_dir / build_db.name  # same file name = same catalog name as in the compiled SQL
    shutil.copy(build_db, copy)
    con = duckdb.connect(str(copy))
    try:
        start = time.perf_counter()
        for node in order:
            kind = "view" if node["config"]["materialized"] == "view" else "table"
            relation = node["relation_name"]
            for existing in ("view", "table"):
                with contextlib.suppress(duckdb.CatalogException):  # it is the other kind
                    con.execute(f"drop {existing} if exists {relation}")
            con.execute(f"create {kind} {relation} as {node['compiled_code']}")
        return time.perf_counter() - start
    finally:
        con.close()


def model_rows(build_db: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(build_db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {n: con.execute(f'select count(*) from marts."{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def main(work: Path, repeats: int, concurrent: bool = False) -> dict:
    out = run_pipeline(work, concurrent)
    settings = out.pop("settings")
    if repeats:
        from assets.publish import publish_marts

        target = work / "dbt_target"
        builds = [dbt_command(["build", "--full-refresh"], settings, target) for _ in range(repeats)]
        runs = [dbt_command(["run", "--full-refresh"], settings, target) for _ in range(repeats)]
        direct = [direct_sql(settings.build_db, target, work) for _ in range(repeats)]
        publishes = []
        for _ in range(repeats):
            start = time.perf_counter()
            publish_marts(settings.build_db, settings.published_db)
            publishes.append(time.perf_counter() - start)
        out.update(
            {
                "dbt_build_s": round(statistics.median(builds), 2),
                "dbt_run_s": round(statistics.median(runs), 2),
                "direct_sql_s": round(statistics.median(direct), 2),
                "publish_s": round(statistics.median(publishes), 2),
                "mart_rows": model_rows(settings.build_db),
            }
        )
    return out


if __name__ == "__main__":
    from bench.stages import measure

    print(json.dumps(measure(main(Path(sys.argv[1]), int(sys.argv[2]), "concurrent" in sys.argv[3:]))))
