"""Typo-tolerant search: trigram similarity on accent-folded names (pg_trgm + unaccent) on
PostgreSQL, an FTS5 trigram table on SQLite.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The distinct words of one name (letters only, lowercased, two or more), as
# catalog.search.name_words cuts them.
_WORDS_OF = """
    SELECT DISTINCT word FROM regexp_split_to_table(lower({name}), '[^[:alpha:]]+') AS word WHERE length(word) > 1
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Both extensions are supported on RDS PostgreSQL, where the master user (rds_superuser) can
        # create them; here the migrating user is a superuser.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        # unaccent() is only STABLE (its dictionary could change), so an index cannot use it directly;
        # naming the dictionary makes the result depend on the text alone.
        op.execute("""
            CREATE FUNCTION shop_fold(text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$
        """)
        op.execute("CREATE INDEX ix_products_name_trigrams ON products USING gin (shop_fold(name) gin_trgm_ops)")
        # Every word of every product name with how many products' names hold it, kept by triggers,
        # so spelling a search as the names do never reads every name; a word goes with its last product.
        op.execute("CREATE TABLE search_words (word text PRIMARY KEY, products integer NOT NULL)")
        op.execute(f"""
            CREATE FUNCTION products_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    DELETE FROM search_words WHERE products = 1 AND word IN ({_WORDS_OF.format(name="OLD.name")});
                    UPDATE search_words SET products = products - 1
                    WHERE word IN ({_WORDS_OF.format(name="OLD.name")});
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    INSERT INTO search_words (word, products)
                    SELECT word, 1 FROM ({_WORDS_OF.format(name="NEW.name")}) AS name_words
                    ON CONFLICT (word) DO UPDATE SET products = search_words.products + 1;
                END IF;
                RETURN NULL;
            END $$
        """)  # nosec B608 - this migration's own constant fragments, no input
        op.execute("""
            CREATE TRIGGER products_search_words AFTER INSERT OR DELETE OR UPDATE OF name ON products
            FOR EACH ROW EXECUTE FUNCTION products_search_words()
        """)
        op.execute("""
            CREATE FUNCTION products_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                TRUNCATE search_words;
                RETURN NULL;
            END $$
        """)
        op.execute("CREATE TRIGGER products_truncated AFTER TRUNCATE ON products "
                   "FOR EACH STATEMENT EXECUTE FUNCTION products_truncated()")
        op.execute(f"""
            INSERT INTO search_words (word, products)
            SELECT word, count(*) FROM products, LATERAL ({_WORDS_OF.format(name="products.name")}) AS words
            GROUP BY word
        """)  # nosec B608 - this migration's own constant fragments, no input
        return
    # Every three-character run of each name, so a fragment or near-miss still finds it (SQLite >= 3.34).
    op.execute("""
        CREATE VIRTUAL TABLE product_trigrams USING fts5(
            name, content='products', content_rowid='id', tokenize='trigram'
        )
    """)
    op.execute("""
        CREATE TRIGGER product_trigrams_insert AFTER INSERT ON products BEGIN
            INSERT INTO product_trigrams(rowid, name) VALUES (new.id, new.name);
        END
    """)
    op.execute("""
        CREATE TRIGGER product_trigrams_delete AFTER DELETE ON products BEGIN
            INSERT INTO product_trigrams(product_trigrams, rowid, name) VALUES ('delete', old.id, old.name);
        END
    """)
    op.execute("""
        CREATE TRIGGER product_trigrams_update AFTER UPDATE OF name ON products BEGIN
            INSERT INTO product_trigrams(product_trigrams, rowid, name) VALUES ('delete', old.id, old.name);
            INSERT INTO product_trigrams(rowid, name) VALUES (new.id, new.name);
        END
    """)
    op.execute("INSERT INTO product_trigrams(product_trigrams) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for function in ("products_search_words", "products_truncated"):
            op.execute(f"DROP TRIGGER IF EXISTS {function} ON products")
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
        op.execute("DROP TABLE IF EXISTS search_words")
        op.execute("DROP INDEX IF EXISTS ix_products_name_trigrams")
        op.execute("DROP FUNCTION IF EXISTS shop_fold(text)")
        # The extensions stay: other database objects may use them, and they cost nothing idle.
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS product_trigrams_{trigger}")
    op.execute("DROP TABLE IF EXISTS product_trigrams")
