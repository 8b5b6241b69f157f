"""The domain: records, errors, semver, ports and use cases. No boto3, no HTTP.

Modules
    errors      the one error model (class names are stable: ASL Catch matches them)
    semver      versions, bumps, specs (`1.2.3`, `1.2.x`, `1.x`, `latest`, alias)
    records     `Record` base, item keys of the single table (DESIGN §3), `Page`
    models      models, versions, aliases, API keys, principals, status machine
    access      roles per action and model patterns (`require`)
    audit       audit events, the hash chain and its verification
    ports       `MetadataStore`, `AuditLog`, `ArtifactStore`, `EventPublisher`, `Deps`, `Context`
    mutations   the unit of work (`Put`, `Delete`, `change`, `commit`, `with_retry`)
    registry / governance / apikeys / auditing / serving    the use cases
    endpoints   how a version is served (shared with the deploy workflow, CDK, CLI)

Adding a new mutation (e.g. a deployment record `DEPLOY#<id>` under `MODEL#<name>`):

1. Define the record: a `records.Record` subclass with a `KIND` and a `key` property
   returning `ItemKey(model_pk(name), f"DEPLOY#{id}")` (and `index_keys` only if it must
   appear in the listing index). The store persists any record; adapters need no change.
2. Write the use case as a `build()` closure that reads the chain head first —
   `model, head = deps.store.read_head(name, Model.key_for(name), Model)` — then reads
   what else it needs with `consistent=True`, checks the rules (raising `errors` classes),
   and returns `(mutations.change(deps, ctx, head, action="deployment.start",
   target=..., details=..., writes=[Put(record, if_absent=...)]), result)`.
3. Run it with `mutations.commit(deps, build)`: one transaction writes the records, the
   next audit event and the new head, conditioned on the head that was read; a lost race
   re-runs `build` (with backoff), so no update is lost and no chain forks.
4. Check the actor first with `access.require(ctx.actor, ROLES, name)`; workflows act as
   `models.system_actor("deploy")`.

Platform-level changes (keys) use the `platform` chain:
`deps.store.read_head(PLATFORM_CHAIN, PLATFORM_HEAD_KEY, PlatformHead)`.
"""
