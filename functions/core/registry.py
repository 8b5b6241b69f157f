"""Use cases: models and versions (create, get, list, publish, resolve)."""

from __future__ import annotations

from dataclasses import dataclass

from functions.core import access, policy_rules
from functions.core.audit import ChainHead
from functions.core.errors import (
    AliasNotFound,
    Forbidden,
    InvalidInput,
    ModelExists,
    ModelNotFound,
    VersionConflict,
    VersionNotFound,
)
from functions.core.lifecycle import require_active
from functions.core.models import (
    Alias,
    Artifact,
    Model,
    ModelVersion,
    NewModel,
    NewVersion,
    StatusChange,
    VersionStatus,
)
from functions.core.mutations import Put, change, commit
from functions.core.ports import Context, Deps, Upload
from functions.core.records import MODELS_INDEX_PK, VERSION_PREFIX, Page, model_pk
from functions.core.revalidation import ModelView
from functions.core.semver import FIRST, SemVer, SpecKind, VersionSpec


def create_model(deps: Deps, ctx: Context, new: NewModel) -> Model:
    """Create a model: one transaction, no read (the put is conditioned on absence).

    A policy loosened from the defaults (`policy_rules`) needs an admin, and the audit
    event names what was loosened.
    """
    access.require(ctx.actor, access.PUBLISH, new.name, doing="creating a model")
    loosened = policy_rules.check_change(ctx.actor, None, policy_rules.Governed.of(new), creating=True)

    def build():
        model = Model(**new.model_dump(), created_at=deps.clock(), created_by=ctx.actor.id)
        head = ChainHead(chain=new.name, key=model.key)
        uow = change(
            deps, ctx, head,
            action="model.create", target=new.name,
            details={**new.model_dump(mode="json"), "loosened": policy_rules.audit_details(loosened)},
            writes=[Put(model, if_absent=ModelExists(f"model {new.name!r} already exists"))],
        )  # fmt: skip
        return uow, model

    return commit(deps, build)


def get_model(deps: Deps, ctx: Context, name: str) -> ModelView:
    """The model, with `revalidation_overdue` as of now."""
    access.require(ctx.actor, access.READ, name)
    return ModelView.of(require_model(deps, name), deps.clock())


def require_model(deps: Deps, name: str, *, consistent: bool = False) -> Model:
    model = deps.store.get(Model.key_for(name), Model, consistent=consistent)
    if model is None:
        raise ModelNotFound(f"model {name!r} does not exist")
    return model


def list_models(
    deps: Deps, ctx: Context, *, limit: int = 50, cursor: str | None = None, status: str = "active",
    overdue: bool = False,
) -> Page[ModelView]:
    """One index Query per page, in name order; models the key's patterns do not cover, and
    (unless `status` is `retired` or `all`) retired models, are left out of the page, as are
    models whose production is not overdue for revalidation when `overdue`."""
    access.require(ctx.actor, access.READ)
    page = deps.store.list_index(MODELS_INDEX_PK, Model, limit=limit, cursor=cursor)
    now = deps.clock()
    views = [ModelView.of(m, now) for m in page.items if ctx.actor.covers(m.name) and status in ("all", m.status)]
    return Page([v for v in views if v.revalidation_overdue or not overdue], page.cursor)


@dataclass(frozen=True)
class Published:
    version: ModelVersion
    #: None when the artifact was already in place (e.g. registered by the retrain workflow).
    upload: Upload | None


def publish_version(
    deps: Deps, ctx: Context, name: str, new: NewVersion, *, artifact_uri: str | None = None
) -> Published:
    """Publish an immutable version: one read (the model and its head) and one transaction.

    `artifact_uri` registers an artifact that is already stored (system principals only,
    e.g. training output); otherwise the caller gets a presigned upload for the artifact.
    """
    access.require(ctx.actor, access.PUBLISH, name, doing="publishing a version")
    if artifact_uri is not None and not ctx.actor.system:
        raise Forbidden("only platform workflows may register an existing artifact")
    if new.lineage.contributors() and not ctx.actor.system:
        raise InvalidInput(
            "lineage.dataset_uploaded_by and lineage.retrain_started_by are recorded by the platform",
            [{"path": "body.lineage", "message": "set by the retrain workflow only"}],
        )

    def build():
        model, head = deps.store.read_head(name, Model.key_for(name), Model)
        if model is None:
            raise ModelNotFound(f"model {name!r} does not exist")
        require_active(model)
        if new.version is not None:
            number = SemVer.parse(new.version)
        elif model.latest_version is None:
            number = FIRST[new.bump]
        else:
            number = SemVer.parse(model.latest_version).bump(new.bump)
        now = deps.clock()
        version = ModelVersion(
            model=name,
            version=str(number),
            artifact=Artifact(
                uri=artifact_uri or deps.artifacts.locate(name, str(number)),
                sha256=new.sha256,
                size=new.size,
            ),
            framework=new.framework or model.framework,
            signature=new.signature,
            metrics=new.metrics,
            lineage=new.lineage,
            card=new.card,
            created_at=now,
            created_by=ctx.actor.id,
            created_by_owner=ctx.actor.owner,
            history=[StatusChange(status=VersionStatus.registered, at=now, by=ctx.actor.id)],
        )
        latest = number if model.latest_version is None else max(number, SemVer.parse(model.latest_version))
        updated = model.model_copy(
            update={"latest_version": str(latest), "version_count": model.version_count + 1}
        )
        exists = VersionConflict(f"{name} {number} already exists; published versions are immutable")
        uow = change(
            deps, ctx, head,
            action="version.publish", target=f"{name}@{number}",
            details=version.model_dump(mode="json", exclude={"history"}),
            writes=[Put(version, if_absent=exists), Put(updated)],
        )  # fmt: skip
        return uow, version

    version = commit(deps, build)
    upload = None
    if artifact_uri is None:
        upload = deps.artifacts.upload_url(version.artifact.uri, version.artifact.sha256, version.artifact.size)
    deps.events.publish(
        "Version Registered",
        {"model": name, "version": version.version, "by": ctx.actor.id, "artifact": version.artifact.uri},
    )
    return Published(version=version, upload=upload)


def list_versions(
    deps: Deps, ctx: Context, name: str, *, limit: int = 50, cursor: str | None = None
) -> Page[ModelVersion]:
    """Newest first; one Query per page (a second read only to tell an empty model from none)."""
    access.require(ctx.actor, access.READ, name)
    page = deps.store.query(
        model_pk(name), ModelVersion, prefix=VERSION_PREFIX, limit=limit, newest_first=True, cursor=cursor
    )
    if not page.items and cursor is None:
        require_model(deps, name)
    return page


def resolve(deps: Deps, ctx: Context, name: str, spec: str) -> ModelVersion:
    """Resolve `1.2.3`, `1.2.x`, `1.x`, `latest` or an alias to a version.

    One request for a version spec; an alias is two (the alias item, then its version).
    """
    access.require(ctx.actor, access.READ, name)
    return find_version(deps, name, VersionSpec.parse(spec))


def find_version(deps: Deps, name: str, spec: VersionSpec, *, consistent: bool = False) -> ModelVersion:
    """Resolution without access checks, for use cases and workflows that checked already."""
    if spec.kind is SpecKind.alias:
        alias = deps.store.get(Alias.key_for(name, spec.text), Alias, consistent=consistent)
        if alias is None:
            require_model(deps, name)
            raise AliasNotFound(f"model {name!r} has no alias {spec.text!r}")
        spec = VersionSpec.parse(alias.version)
    if spec.kind is SpecKind.exact:
        assert spec.version is not None
        found = deps.store.get(ModelVersion.key_for(name, spec.version), ModelVersion, consistent=consistent)
    else:
        page = deps.store.query(
            model_pk(name),
            ModelVersion,
            prefix=VERSION_PREFIX + spec.sort_key_prefix,
            limit=1,
            newest_first=True,
            consistent=consistent,
        )
        found = page.items[0] if page.items else None
    if found is None:
        require_model(deps, name)
        raise VersionNotFound(f"no version of {name!r} matches {spec.text!r}")
    return found
