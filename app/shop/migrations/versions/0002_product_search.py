"""Full-text product search: tsvector + GIN on PostgreSQL, FTS5 on SQLite.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Names weigh more than descriptions; the english config stems word forms (boots ~ boot).
        op.execute("""
            ALTER TABLE products ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
                setweight(to_tsvector('english', coalesce(description, '')), 'B')
            ) STORED
        """)
        op.execute("CREATE INDEX ix_products_search_vector ON products USING gin (search_vector)")
        return
    # An external-content FTS5 table kept in step with products by triggers; porter stems.
    op.execute("""
        CREATE VIRTUAL TABLE product_search USING fts5(
            name, description, content='products', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
    """)
    op.execute("""
        CREATE TRIGGER product_search_insert AFTER INSERT ON products BEGIN
            INSERT INTO product_search(rowid, name, description)
            VALUES (new.id, new.name, new.description);
        END
    """)
    op.execute("""
        CREATE TRIGGER product_search_delete AFTER DELETE ON products BEGIN
            INSERT INTO product_search(product_search, rowid, name, description)
            VALUES ('delete', old.id, old.name, old.description);
        END
    """)
    op.execute("""
        CREATE TRIGGER product_search_update AFTER UPDATE OF name, description ON products BEGIN
            INSERT INTO product_search(product_search, rowid, name, description)
            VALUES ('delete', old.id, old.name, old.description);
            INSERT INTO product_search(rowid, name, description)
            VALUES (new.id, new.name, new.description);
        END
    """)
    op.execute("INSERT INTO product_search(product_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_products_search_vector")
        op.execute("ALTER TABLE products DROP COLUMN IF EXISTS search_vector")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS product_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS product_search")
