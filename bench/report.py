"""Writes a bench run to bench/results/<stamp>.json and the Markdown summary latest.md."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bench.gate import same
from connectors.offload import WORKERS_ENV

WHY = re.compile(r"Failure:|Error:|failed|FAIL\b")  # the lines of a failed part's error worth showing


def extract_tables(rows: list[dict]) -> list[str]:
    out = [
        "### Extraction (3 fiscal years per size; lines = ledger lines written)",
        "",
        "| size | style | contender | median s (min-max) | lines/s | vs fetch+parse+write | peak RSS MB | CPU s |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple, dict] = {}
    for r in rows:
        groups.setdefault((r["size"], r["style"]), {})[r["contender"]] = r
    for (size, style), g in groups.items():
        floor = sum(g[k]["median_s"] for k in ("fetch", "parse", "write") if k in g)
        ours = g.get("extract", {})
        for name in ("extract", "extract_inline", "fetch", "parse", "write", "dlt_default", "dlt_tuned"):
            r = g.get(name)
            if r is None:
                continue
            gate_ok = "gate" not in r or not ours.get("gate") or same(r["gate"], ours["gate"])
            if not gate_ok:
                out.append(f"| {size} | {style} | {name} | failed the correctness gate | | | | |")
                continue
            ratio = (
                f"{floor / r['median_s']:.2f}"
                if name in ("extract", "extract_inline", "dlt_default", "dlt_tuned")
                else ""
            )
            label = {
                "extract": "**ours**",
                "extract_inline": f"ours, {WORKERS_ENV}=0",
                "fetch": "fetch only",
                "parse": "parse only",
                "write": "write only",
            }.get(name, name)
            out.append(
                f"| {size} | {style} | {label} | {r['median_s']} ({r['min_s']}-{r['max_s']}) | "
                f"{r.get('lines_per_s', '-') if name != 'fetch' else str(r.get('mb_per_s')) + ' MB/s'} | "
                f"{ratio} | {r['peak_rss_mb']} | {r['cpu_s']} |"
            )
        if "dlt_default" in g and ours:
            out.append(
                f"| {size} | {style} | ours vs dlt default | {g['dlt_default']['median_s'] / ours['median_s']:.1f}x "
                f"faster | | | | |"
            )
    return out


def request_table(rows: list[dict]) -> list[str]:
    """Procountor's extract: each fiscal year's requests (counted by the simulator) against the bound
    of a full read, list pages + ceil(receipts in the books / 200) + 5; one line per size."""
    counted = [r for r in rows if r.get("requests_per_year") and r["contender"] == "extract"]
    if not counted:
        return []
    out = [
        "### Procountor requests per fiscal year (counted by the simulator; bound = list pages + "
        "ceil(receipts in the books / 200) + 5)",
        "",
        "| size | fiscal years | receipts listed | in the books | requests (list pages + batches + other) "
        "| bound | within the bound |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in counted:
        years = r["requests_per_year"]
        requests = [
            f"{y['requests']} ({y['list_pages']} + {y['batches']} + {y['requests'] - y['list_pages'] - y['batches']})"
            for y in years
        ]
        cells = [" / ".join(str(y[key]) for y in years) for key in ("fiscal_year", "listed", "receipts")]
        out.append(
            f"| {r['size']} | {' | '.join(cells)} | {' / '.join(requests)} | "
            f"{' / '.join(str(y['bound']) for y in years)} | "
            f"{'yes' if all(y['within_bound'] for y in years) else '**NO**'} |"
        )
    return out


def rated_table(rows: list[dict]) -> list[str]:
    """Procountor read at a request rate (`--procountor-rate`) against a simulator enforcing the
    published 20/s: the time against 1.2 x requests / rate."""
    rated = [r for r in rows if r["contender"] == "rated"]
    if not rated:
        return []
    out = [
        "### Procountor at the rate limit (the connector's limiter; the simulator enforces 20 requests/s)",
        "",
        "| size | fiscal years | rate /s | requests | seconds | bound 1.2 x requests / rate s | within | retries "
        "| peak RSS MB | CPU s |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rated:
        years = " / ".join(y["fiscal_year"] for y in r["rated_years"])
        out.append(
            f"| {r['size']} | {years} | {r['rate']:g} | {r['requests']} | {r['seconds']} | {r['bound_s']} | "
            f"{'yes' if r['within_bound'] else '**NO**'} | {r['retries']} | {r['peak_rss_mb']} | {r['cpu_seconds']} |"
        )
    return out


def marts_table(rows: list[dict]) -> list[str]:
    out = [
        "### Marts and the whole pipeline (real Dagster definitions, empty instance)",
        "",
        "| size | ERPs | Dagster runs | pipeline s | extract steps s | dbt build s | dbt run s | direct SQL s "
        "| dbt run / direct | publish s | fct_gl_entries | fct_account_balances_monthly |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        marts = r.get("mart_rows", {})
        out.append(
            f"| {r['size']} | {', '.join(r['styles'])} | {r['runs']} | {r['seconds']:.1f} | {r['extract_steps_s']} | "
            f"{r['dbt_build_s']} | {r['dbt_run_s']} | {r['direct_sql_s']} | "
            f"{r['dbt_run_s'] / max(r['direct_sql_s'], 1e-9):.1f} | {r['publish_s']} | "
            f"{marts.get('fct_gl_entries', '-')} | {marts.get('fct_account_balances_monthly', '-')} |"
        )
    return out


def office_table(r: dict) -> list[str]:
    total = r["seconds"]
    outside = r["outside_steps_s"]
    procountor = r.get("procountor_requests")  # results before the shared API client have none
    shared = (
        [
            "",
            f"Procountor: {r['erps'].get('procountor', 0)} companies on {r['procountor_api_clients']} API client(s) "
            + (
                "held to 18 requests/s by the connector's limiter (the warm simulator serves from memory): "
                if r.get("simulator") == "warm"
                else "held to 20 requests/s by the simulator (the connector: 18/s per client): "
            )
            + f"{procountor['requests']} "
            f"requests ({procountor['list_pages']} list pages, {procountor['batches']} detail batches), "
            f"{r.get('extract_steps_by_erp_s', {}).get('procountor', '-')} s in its extract steps.",
        ]
        if procountor
        else []
    )
    by_erp = ", ".join(f"{k} {v}" for k, v in r.get("extract_steps_by_erp_s", {}).items())
    concurrent = r.get("concurrent_erps", False)
    return [
        f"### Accounting office backfill (empty {r.get('instance', 'sqlite')} instance)",
        "",
        "| companies | ERPs | fiscal years | Dagster runs | total s | extract steps s (by ERP) | dbt step s "
        "| publish s | some step running s | outside steps (Dagster) s | peak RSS MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r['companies']} | {', '.join(f'{k} {v}' for k, v in r['erps'].items())} | {r['fiscal_years']} | "
        f"{r['runs']} | {total:.1f} | {r['extract_steps_s']} ({by_erp}) | {r['dbt_step_s']} | {r['publish_step_s']} | "
        f"{r.get('in_steps_wall_s', '-')} | {outside} | {r.get('peak_rss_mb', '-')} |",
        "",
        (
            "Each ERP's jobs ran in a process of their own, all ERPs at once (step seconds overlap; outside steps ="
            " total - the time in which some step was running)."
            if concurrent
            else "The jobs ran one after another in one process."
        ),
        *(
            [
                f"The simulator was {r['simulator']} ("
                + (
                    "a first, unreported backfill had rendered every answer"
                    if r["simulator"] == "warm"
                    else "it rendered every answer during this backfill"
                )
                + f") and spent {r['simulator_cpu_s']} s of CPU serving it, on the same cores."
            ]
            if "simulator" in r
            else []
        ),
        *shared,
    ]


def _requests(counts: dict) -> str:
    total = sum(counts.values())
    # GET /ledgerreceipts/{ids}: one call per 200 receipts in the books (the simulator writes {id})
    batches = sum(v for k, v in counts.items() if k.endswith("/ledgerreceipts/{id}"))
    return f"{total}" + (f" ({batches} detail batches)" if batches else "")


def refresh_table(rows: list[dict]) -> list[str]:
    out = [
        "### Nightly refresh of one fiscal year (requests counted by the simulator)",
        "",
        "| size | style | FY lines | changed | read | requests | ledger step s | run s | equals a full re-read |",
        "|---|---|---:|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        change = r.get("change")
        what = (
            f"{change['lines']} lines ({change['edited']} receipts edited, {change['added']} added)" if change else "-"
        )
        scenarios = [("first full read", r["full"], "")]
        if change:
            scenarios += [
                ("nightly, after the change", r["refresh"], "yes" if r["equals_full_read"] else "**NO**"),
                ("nightly, nothing changed", r["no_change"], ""),
                ("full re-read of the changed year", r["full_after_change"], ""),
            ]
        else:
            scenarios.append(("nightly (no change tracking: full year)", r["refresh"], ""))
        for label, s, equal in scenarios:
            out.append(
                f"| {r['size']} | {r['style']} | {r['ledger_rows']} | {what if s is r['refresh'] else ''} | "
                f"{label} | {_requests(s['requests'])} | {s['ledger_step_s']} | {s['seconds']} | {equal} |"
            )
    return out


def write_report(report: dict, results: Path) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    (results / "latest.md").write_text(markdown(report))
    return path


def decode_table(rows: list[dict]) -> list[str]:
    """Netvisor's decoder against the bare `iterparse` loop: CPU on the same answers, in one process."""
    decoded = [r for r in rows if r["contender"] == "decode_cpu"]
    if not decoded:
        return []
    out = [
        "### Netvisor decode CPU against the bare parse loop (the same answers in memory, one process, best of 3)",
        "",
        "| size | answers | MB | lines | bare iterparse loop CPU s | ours CPU s | ours / bare |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in decoded:
        out.append(
            f"| {r['size']} | {r['requests']} | {r['bytes'] / 1e6:.0f} | {r['rows']} | {r['bare_cpu_s']} | "
            f"{r['ours_cpu_s']} | {r['ratio']} |"
        )
    return out


def markdown(report: dict) -> str:
    """The Markdown summary of one run (`python -m bench.report <results.json>` prints it again)."""
    v = report["versions"]
    lines = [
        f"Command: `{report['command']}` ({report['started']}, {report['total_minutes']} min). "
        f"Python {v['python']}, {v['cpus']} CPUs, dagster {v['dagster']}, dbt-core {v['dbt-core']}, "
        f"duckdb {v['duckdb']}, pyarrow {v['pyarrow']}, dlt {v['dlt']}.",
        "",
    ]
    if report.get("interrupted"):
        lines += [f"Stopped by hand during the {report['interrupted']} part: below is what had finished.", ""]
    tables = {
        "extract": lambda rows: [
            *extract_tables(rows),
            "",
            *decode_table(rows),
            "",
            *request_table(rows),
            "",
            *rated_table(rows),
        ],
        "marts": marts_table,
        "office": office_table,
        "refresh": refresh_table,
    }
    for part, table in tables.items():
        error = report.get("errors", {}).get(part)
        if error:  # the part failed: the lines that say why (what it finished before is below)
            said = [line.strip() for line in error.splitlines() if WHY.search(line)]
            shown = "\n".join(dict.fromkeys(said[:8] or error.strip().splitlines()[:3]))
            lines += [f"### {part}: FAILED", "", "```", shown, "```", ""]
        if report.get(part):
            lines += [*table(report[part]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
