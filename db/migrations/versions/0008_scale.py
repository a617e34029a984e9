"""scale: feed leases for several ingest workers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved in the chain; filled in by the change that needs it


def downgrade() -> None:
    pass
