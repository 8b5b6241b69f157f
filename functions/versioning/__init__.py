"""The versioning Lambda: approvals (submit, approve, reject, archive) and aliases."""
