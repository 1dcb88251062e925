#!/usr/bin/env bash
# Screenshots of the Dagster UI pages the README shows, with headless Chromium (Debian: apt-get install
# chromium). Run after `make demo`, with `make dev` serving the UI on 127.0.0.1:3000:
#   bash docs/screenshots/take.sh
# Each page is rendered once its queries settle (a virtual-time budget), at 1440 pixels wide.
set -euo pipefail
UI=${UI:-http://127.0.0.1:3000}
OUT=$(cd "$(dirname "$0")" && pwd)
command -v chromium >/dev/null || { echo "chromium is needed (Debian: apt-get install chromium)"; exit 1; }
# The first visit opens a "join the community" dialog; the UI's own mutation marks it seen for this instance.
curl -fsS -X POST -H 'Content-Type: application/json' "$UI/graphql" -d '{"query":"mutation { setNuxSeen }"}' >/dev/null

shot() {  # name, path, height
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size="1440,${3:-900}" \
    --virtual-time-budget=20000 --screenshot="$OUT/$1.png" "$UI/$2" >/dev/null 2>&1
  echo "$OUT/$1.png"
}

shot ledger-partition "assets/raw/fennoa/ledger?view=partitions&partition=aurora%7C2025" 1000
shot ledger-overview "assets/raw/fennoa/ledger"
shot bank-consent-check "assets/raw/nag/bank_accounts?view=checks"
shot automation "automation" 1000
shot sync-job-launchpad "locations/nordledger/jobs/sync_job/playground"
shot runs "runs" 1000
