"""The embedded AWS's write-ahead journal: acknowledged writes survive a crash (DESIGN §9)."""

from modelport.local.aws.journal.durable import Durable

__all__ = ["Durable"]
