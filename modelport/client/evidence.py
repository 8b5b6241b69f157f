"""Evidence packs on the user's side: export one into a zip, verify a zip offline.

The zip holds `evidence.json` (the pack, `functions.core.evidence`), `evidence.html` (its
readable document, rendered from the JSON) and `SHA256SUMS`. `verify_zip` needs no API and
no AWS: it recomputes the files' SHA-256s, every hash and link of the pack's chain proof and
every section's audit record (`functions.core.evidence_check`), and renders the document
again to compare.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from functions.core.evidence_check import Report, verify_pack
from functions.core.evidence_html import render
from modelport.client.transport import Transport

JSON_NAME, HTML_NAME, SUMS_NAME = "evidence.json", "evidence.html", "SHA256SUMS"
#: refuse members larger than this when reading (a zip bomb is not an evidence pack).
MAX_MEMBER_BYTES = 256 * 1024 * 1024


def _seg(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


class Evidence:
    """`client.evidence`: a version's evidence pack (approvers and admins)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def get(self, model: str, version: str) -> dict[str, Any]:
        """The pack as a dict."""
        return self._t.json("GET", f"/v1/models/{_seg(model)}/versions/{_seg(version)}/evidence")

    def html(self, model: str, version: str) -> str:
        path = f"/v1/models/{_seg(model)}/versions/{_seg(version)}/evidence"
        return self._t.send("GET", path, params={"format": "html"}).text

    def export(self, model: str, version: str, path: str | Path) -> Path:
        """Write the pack (JSON + HTML + SHA256SUMS) into the zip at `path`."""
        return write_zip(self.get(model, version), Path(path))


def pack_bytes(pack: dict[str, Any]) -> tuple[bytes, bytes]:
    """The pack's two documents, as the zip holds them."""
    text = json.dumps(pack, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.encode(), render(pack).encode()


def write_zip(pack: dict[str, Any], path: Path) -> Path:
    data, html = pack_bytes(pack)
    sums = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in ((JSON_NAME, data), (HTML_NAME, html)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in ((JSON_NAME, data), (HTML_NAME, html), (SUMS_NAME, sums.encode())):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # the same pack gives the same zip
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    tmp.replace(path)
    return path


def verify_zip(path: str | Path) -> Report:
    """Check an exported pack offline; the report names every mismatch (`ok` when none)."""
    report = Report()
    try:
        with zipfile.ZipFile(path) as archive:
            members = {i.filename: i for i in archive.infolist()}
            missing = [n for n in (JSON_NAME, HTML_NAME, SUMS_NAME) if n not in members]
            if missing:
                report.bad("zip", f"missing {', '.join(missing)}")
                return report
            extra = sorted(set(members) - {JSON_NAME, HTML_NAME, SUMS_NAME})
            if extra:
                report.bad("zip", f"holds files that are not part of a pack: {', '.join(extra)}")
            if any(members[n].file_size > MAX_MEMBER_BYTES for n in (JSON_NAME, HTML_NAME, SUMS_NAME)):
                report.bad("zip", f"a member is larger than {MAX_MEMBER_BYTES} bytes")
                return report
            data, html, sums = (archive.read(n) for n in (JSON_NAME, HTML_NAME, SUMS_NAME))
    except (OSError, zipfile.BadZipFile) as error:
        report.bad("zip", f"cannot read {path}: {error}")
        return report
    listed = {}
    for line in sums.decode(errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        listed[name.strip()] = digest.strip()
    for name, body in ((JSON_NAME, data), (HTML_NAME, html)):
        actual = hashlib.sha256(body).hexdigest()
        if listed.get(name) != actual:
            report.bad(SUMS_NAME, f"{name}'s SHA-256 is {actual[:16]}…, the list says {str(listed.get(name))[:16]}…")
    try:
        pack = json.loads(data)
    except ValueError as error:
        report.bad(JSON_NAME, f"not JSON ({error})")
        return report
    checked = verify_pack(pack)
    report.mismatches += checked.mismatches
    report.checked += checked.checked
    report.head = checked.head
    report.ok = report.ok and checked.ok
    if checked.ok or report.head is not None:
        try:
            rendered = render(pack).encode()
        except (KeyError, TypeError, ValueError):
            rendered = b""
        if rendered != html:
            report.bad(HTML_NAME, "differs from the document the pack's JSON renders (edited?)")
        else:
            report.checked.append("the HTML document is the one the JSON renders")
    return report
