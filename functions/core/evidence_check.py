"""Offline verification of an evidence pack (`functions.core.evidence`): no API, no AWS.

`verify_pack(pack)` recomputes every hash of the pack's chain proof, link by link, up to
the chain head it names; checks each of the version's audit events (its details against
its digest, its fields against its hash, its place in the proof); and checks every section
against the events that recorded it (the card, lineage, metrics and artifact against the
publication, approvals and revalidations against their events, deployments and production
periods against theirs, the model's settings against its last settings change, the
evaluation against both versions' metrics). Each finding names its section. What it cannot
prove offline: that the head is the live chain's (compare `head` with `GET /v1/audit`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from functions.core.audit import chain_hash, sha256_hex
from functions.core.evidence import _SECRET, FORMAT, compare

_HASHED = ("chain", "seq", "actor", "action", "target", "request_id", "time", "digest", "prev_hash")


@dataclass(frozen=True)
class Mismatch:
    section: str
    message: str

    def __str__(self) -> str:
        return f"{self.section}: {self.message}"


@dataclass
class Report:
    ok: bool = True
    mismatches: list[Mismatch] = field(default_factory=list)
    #: what was checked and held (for the report).
    checked: list[str] = field(default_factory=list)
    head: dict[str, Any] | None = None

    def bad(self, section: str, message: str) -> None:
        self.ok = False
        self.mismatches.append(Mismatch(section, message))


def _details(event: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(event.get("details") or "")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _same(a: Any, b: Any) -> bool:
    """Equal, a missing member counting as null (a field added to the schema after the event)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return all(_same(a.get(k), b.get(k)) for k in set(a) | set(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a != b:
        return _instant(a) is not None and _instant(a) == _instant(b)
    return a == b


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if "T" in text else None
    except ValueError:
        return None


def verify_pack(pack: Any) -> Report:
    report = Report()
    if not isinstance(pack, dict) or pack.get("format") != FORMAT:
        report.bad("format", f"not a {FORMAT} document")
        return report
    if _SECRET.search(json.dumps(pack)):
        report.bad("secrets", "the pack holds something that looks like an API key or a key hash")
    try:
        by_seq = _proof(pack, report)
        events = _events(pack, by_seq, report)
        _sections(pack, events, report)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        report.bad("structure", f"the pack is malformed ({type(error).__name__}: {error})")
    return report


def _proof(pack: dict[str, Any], report: Report) -> dict[int, dict[str, Any]]:
    audit, proof = pack["audit"], pack["audit"]["proof"]
    chain, head = audit["chain"], proof["head"]
    report.head = head
    prev, expected_seq, by_seq = proof["prev_hash"], proof["from_seq"], {}
    for position, item in enumerate(proof["links"]):
        if item["seq"] != expected_seq:
            report.bad("audit.proof", f"link {position} is event {item['seq']}, expected event {expected_seq}")
            return by_seq
        fields = {**{k: item[k] for k in _HASHED if k not in ("chain", "prev_hash")}, "chain": chain, "prev_hash": prev}
        if chain_hash(fields) != item["hash"]:
            report.bad("audit.proof", f"event {item['seq']} does not match its hash (edited, or not linked to "
                                      f"event {item['seq'] - 1})")
            return by_seq
        by_seq[item["seq"]] = {**item, "prev_hash": prev}
        prev, expected_seq = item["hash"], expected_seq + 1
    if expected_seq - 1 != head["seq"] or prev != head["hash"]:
        report.bad("audit.proof", f"the links end at event {expected_seq - 1} with hash {prev[:12]}…, "
                                  f"not at the head (event {head['seq']}, {head['hash'][:12]}…)")
    else:
        report.checked.append(f"chain proof: events {proof['from_seq']}..{head['seq']} link to the head")
    return by_seq


def _events(pack: dict[str, Any], by_seq: dict[int, dict[str, Any]], report: Report) -> list[dict[str, Any]]:
    good = []
    for event in pack["audit"]["events"]:
        seq = event["seq"]
        if sha256_hex(event["details"]) != event["digest"]:
            report.bad("audit.events", f"event {seq} ({event['action']}): its details do not match its digest")
            continue
        if chain_hash({k: event[k] for k in _HASHED}) != event["hash"]:
            report.bad("audit.events", f"event {seq} ({event['action']}) does not match its hash")
            continue
        proven = by_seq.get(seq)
        if proven is None or proven["hash"] != event["hash"] or proven["prev_hash"] != event["prev_hash"]:
            report.bad("audit.events", f"event {seq} ({event['action']}) is not the chain's event {seq}")
            continue
        good.append(event)
    if len(good) == len(pack["audit"]["events"]):
        report.checked.append(f"{len(good)} audit events: details, hashes and place in the chain")
    return good


def _sections(pack: dict[str, Any], events: list[dict[str, Any]], report: Report) -> None:
    name, v = pack["version"]["model"], pack["version"]["version"]
    of = [(e, _details(e)) for e in events]
    published = [d for e, d in of if e["action"] == "version.publish" and e["target"] == f"{name}@{v}"]
    if not published:
        report.bad("version", f"no audited publication of {name} {v} in the pack")
    else:
        d = published[0]
        for section, got, want in (("card", pack["card"], d.get("card")), ("lineage", pack["lineage"], d.get("lineage")),
                                   ("metrics", pack["metrics"], d.get("metrics")),
                                   ("version.artifact", pack["version"]["artifact"], d.get("artifact")),
                                   ("version.signature", pack["version"]["signature"], d.get("signature")),
                                   ("version.framework", pack["version"]["framework"], d.get("framework"))):
            if not _same(got, want):
                report.bad(section, f"differs from what was published (event {_seq(of, d)})")
        report.checked.append("card, lineage, metrics and artifact match the publication")
    mine = [(e, d) for e, d in of if e["target"] == f"{name}@{v}"]
    _signoffs(report, "approvals", pack["approvals"], [(e, d) for e, d in mine if e["action"] == "version.approve"])
    _signoffs(report, "revalidations", pack["revalidations"],
              [(e, d) for e, d in mine if e["action"] == "version.revalidate"])
    _deployments(report, pack["deployments"], of)
    _periods(report, pack["production_periods"], of)
    _settings(report, pack["model"], of)
    _evaluation(report, pack, of)


def _seq(of: list, details: dict[str, Any]) -> int:
    return next(e["seq"] for e, d in of if d is details)


def _actor_id(event: dict[str, Any]) -> str:
    return event["actor"].split(" ", 1)[0]


def _signoffs(report: Report, section: str, signoffs: list[dict[str, Any]], audited: list) -> None:
    if len(signoffs) != len(audited):
        report.bad(section, f"{len(signoffs)} in the pack, {len(audited)} audited")
        return
    for i, (signoff, (event, d)) in enumerate(zip(signoffs, audited, strict=True)):
        if signoff["by"] != _actor_id(event) or signoff.get("comment") != d.get("comment"):
            report.bad(section, f"entry {i + 1} ({signoff['by']}) differs from event {event['seq']}")
            return
    report.checked.append(f"{len(signoffs)} {section} match their events")


def _deployments(report: Report, deployments: list[dict[str, Any]], of: list) -> None:
    for dep in deployments:
        started = [d for e, d in of if e["action"] == "deployment.start" and d.get("id") == dep["id"]]
        if not started or not all(_same(dep.get(k), started[0].get(k)) for k in ("version", "alias", "endpoint")):
            report.bad("deployments", f"deployment {dep['id']} differs from its audited start")
            return
        target = f"/deployments/{dep['id']}"
        ends = {e["action"] for e, _ in of if e["target"].endswith(target)}
        wanted = {"succeeded": "deployment.succeed", "failed": "deployment.fail"}.get(dep["status"])
        if wanted is not None and wanted not in ends:
            report.bad("deployments", f"deployment {dep['id']} is {dep['status']} but no {wanted} event says so")
            return
    report.checked.append(f"{len(deployments)} deployments match their events")


def _periods(report: Report, periods: list[dict[str, Any]], of: list) -> None:
    moves = {e["seq"]: d for e, d in of if e["action"] == "alias.set"}
    for p in periods:
        opened = moves.get(p["opened_seq"])
        if opened is None or not _same(opened.get("version"), p["version"]) or (
                "period_start" in opened and not _same(opened["period_start"], p["start"])) or (
                "deployment_id" in opened and opened["deployment_id"] != p["deployment_id"]):
            report.bad("production_periods", f"the period of {p['alias']} from {p['start']} differs from the move "
                                             f"that opened it (event {p['opened_seq']})")
            return
        if p.get("end") is not None:
            closed = moves.get(p.get("closed_seq"))
            if closed is None or ("period_start" in closed and not _same(closed["period_start"], p["end"])):
                report.bad("production_periods", f"the period of {p['alias']} from {p['start']} ends as no "
                                                 "audited move says")
                return
    report.checked.append(f"{len(periods)} production periods match the alias moves")


def _settings(report: Report, model: dict[str, Any], of: list) -> None:
    changes = [(e, d) for e, d in of if e["action"] in ("model.create", "model.update")]
    if not changes:
        report.bad("model", "no audited creation or change of the model's settings in the pack")
        return
    event, d = changes[-1]
    audited = _with_defaults(d.get("after") if event["action"] == "model.update" else d)
    settings = model["settings"]
    if audited is None or not all(_same(settings[k], audited.get(k)) for k in settings):
        report.bad("model.settings", f"differ from the last audited settings (event {event['seq']})")
        return
    retired = any(e["action"] == "model.retire" for e, _ in of)
    if (model["status"] == "retired") != retired:
        report.bad("model.status", f"is {model['status']}, the audit log says {'retired' if retired else 'active'}")
        return
    report.checked.append("the model's settings match its last audited change")


def _with_defaults(audited: Any) -> dict[str, Any] | None:
    """The audited settings with every field the event predates at its default."""
    from functions.core.lifecycle import ModelSettings

    if not isinstance(audited, dict):
        return None
    try:
        return ModelSettings.model_validate({k: audited[k] for k in ModelSettings.model_fields if k in audited}
                                            ).model_dump(mode="json")
    except ValueError:
        return None


def _evaluation(report: Report, pack: dict[str, Any], of: list) -> None:
    evaluation = pack["evaluation"]
    replaced = evaluation.get("replaced_version")
    if replaced is not None:
        name = pack["version"]["model"]
        published = [d for e, d in of if e["action"] == "version.publish" and e["target"] == f"{name}@{replaced}"]
        if not published or not _same(published[0].get("metrics"), evaluation["replaced_metrics"]):
            report.bad("evaluation", f"the metrics of {replaced} differ from its audited publication")
            return
    if not _same(compare(pack["metrics"], evaluation["replaced_metrics"]), evaluation["comparison"]):
        report.bad("evaluation", "the comparison does not follow from the two versions' metrics")
        return
    report.checked.append("the evaluation follows from both versions' audited metrics")
