"""the chat's interface language (English or Chinese)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved in the chain; filled in by the change that needs it


def downgrade() -> None:
    pass
