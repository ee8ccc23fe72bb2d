"""`gateway/` is a kernel: it imports no domain. The domains plug in through registries
(gateway.components, gateway.tenancy.owners, gateway.crypto.encrypted_column, gateway.demo.step,
gateway.cli.command), filled when the components named in pyproject.toml are loaded."""

from __future__ import annotations

import ast
from pathlib import Path

from gateway import components, crypto
from gateway.tenancy import owners

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = ("suppliers", "channels")


def _domain_imports(path: Path, domains: tuple[str, ...] = DOMAINS) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno} imports {name}" for name in names if name.split(".")[0] in domains
        ]
    return found


def test_gateway_imports_no_domain() -> None:
    modules = sorted((ROOT / "gateway").rglob("*.py"))
    assert len(modules) > 50  # the walk found the kernel
    offending = [line for path in modules for line in _domain_imports(path)]
    assert offending == []


def test_suppliers_import_nothing_of_channels() -> None:
    """Dependencies point one way: channels/ calls suppliers/' public services; where the supplier
    side must reach the channel side (a share moved, a location moved) it goes through a registry
    that channels/ fills (suppliers.fulfilment.hooks, suppliers.locations.revisions)."""
    modules = sorted((ROOT / "suppliers").rglob("*.py"))
    assert len(modules) > 30
    offending = [line for path in modules for line in _domain_imports(path, ("channels",))]
    assert offending == []


def test_the_walk_sees_every_form_of_import(tmp_path: Path) -> None:
    """The check above would pass vacuously if it missed a form of import."""
    probe = ROOT / "gateway" / "_probe_for_test.py"
    probe.write_text(
        "import suppliers.models\nfrom channels import services\ndef f():\n    from suppliers.x import y\n"
    )
    try:
        assert len(_domain_imports(probe)) == 3
    finally:
        probe.unlink()


def test_the_components_fill_the_registries() -> None:
    loaded = components.load()
    assert sorted(loaded) == ["channels.component", "suppliers.component"]
    assert owners.registered() == {"supplier": "suppliers", "channel": "channels"}
    apps = components.piccolo_app_names()
    assert (
        apps[0] == "gateway.piccolo_app"
        and "suppliers.inventory.piccolo_app" in apps
        and "channels.orders.piccolo_app" in apps
    )
    columns = {(c.table, c.column) for c in crypto.encrypted_columns()}
    assert {("orders", "customer"), ("fulfilment_orders", "pickup_code"), ("webhook_endpoints", "secret")} <= columns
    paths = {getattr(h, "path", None) for h in components.route_handlers()}
    assert "/v1/suppliers" in paths and "/v1/channels" in paths
