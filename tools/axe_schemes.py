"""Run axe-core on every page in light and dark colour schemes, at phone and desktop widths.

The shared audit runs axe once, in the browser's default (light) scheme at one width; contrast in
dark mode and wide tables on phones need their own pass. Uses the axe-core that audit-site
installed and Debian's Chromium through Playwright.

usage: python tools/axe_schemes.py SITE_DIR   (prints problems, then one summary line; exit 1 on any)
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

AXE = Path(os.environ.get("AUDIT_TOOLS", Path.home() / ".cache/audit-tools")) / "node_modules/axe-core/axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = (390, 1280)
RUN = """async () => (await axe.run(document)).violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(" "))}))"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        """Keep the report readable: no line per request."""


def main(site: Path) -> int:
    if not AXE.is_file():
        print(f"axe-schemes: {AXE} is missing; run ../shared/tools/audit-site once to install it", file=sys.stderr)
        return 2
    # alias redirect pages leave for their target at once; the target is checked in its own right
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if 'http-equiv="refresh"' not in p.read_text(encoding="utf-8"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    counts = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for scheme in ("light", "dark"):
                counts[scheme] = 0
                for width in WIDTHS:
                    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
                    page = context.new_page()
                    for rel in pages:
                        page.goto(f"http://127.0.0.1:{server.server_port}/{rel.removesuffix('index.html')}")
                        page.add_script_tag(path=str(AXE))
                        for violation in page.evaluate(RUN):
                            counts[scheme] += 1
                            print(f"  {rel} ({scheme}, {width}px): {violation['id']} at {', '.join(violation['nodes'][:3])}")
                    context.close()
            browser.close()
    finally:
        server.shutdown()
    print(f"axe-schemes: pages={len(pages)} widths={','.join(map(str, WIDTHS))} "
          + " ".join(f"{scheme}_violations={n}" for scheme, n in counts.items()))
    return 1 if any(counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
