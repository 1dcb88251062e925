"""Bulk mode (benchmarks only): a GET is rendered once, then served from memory byte for byte."""

import httpx

from simulator.catalogue import demo_tenants
from simulator.server import build_app, serve_in_thread


def test_bulk_mode_serves_the_same_bytes_without_rendering_again():
    tenant = next(t for t in demo_tenants() if t.erp == "fennoa")
    app = build_app(tenants=[tenant], bulk=True)
    auth = (tenant.credentials["username"], tenant.credentials["api_key"])
    with serve_in_thread(app=app) as url, httpx.Client(base_url=f"{url}/fennoa/api/", timeout=60) as http:
        first = http.get("accounting_api/get/accounts", auth=auth)
        assert first.status_code == 200 and len(app.store) == 1
        again = http.get("accounting_api/get/accounts", auth=auth)
        assert again.content == first.content and len(app.store) == 1
        refused = http.get("accounting_api/get/periods", auth=("nobody", "wrong"))
        assert refused.status_code == 401 and len(app.store) == 1  # only successes are kept
