"""Full-text product search behind one interface, on whichever database the shop runs.

PostgreSQL matches the generated `search_vector` column (GIN-indexed, 'english' stemming, name
weighted above description) and ranks with ts_rank_cd; SQLite matches the FTS5 `product_search`
table (porter stemming) and ranks with bm25. Both stem, so "pans" finds "Frying Pan".

The customer's words never reach either query language as syntax: the text is cut into plain
word terms, which every product must contain (in some form).
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table

from .models import Product

# A query longer than this is cut: more terms only slow the search and rarely match.
MAX_TERMS = 8
MAX_TERM_LENGTH = 40
# How much more a word in the name counts than one in the description (SQLite's bm25 weights;
# PostgreSQL weighs through the A/B labels of the generated column).
NAME_WEIGHT = 10.0
DESCRIPTION_WEIGHT = 1.0

_WORD = re.compile(r"\w+")

_search_vector = literal_column("products.search_vector")
_fts = table("product_search", column("rowid"))
_fts_table = literal_column("product_search")


def terms(text: str) -> list[str]:
    """The words of a search box entry, lowercased; punctuation and operators are dropped."""
    words = [word.lower()[:MAX_TERM_LENGTH] for word in _WORD.findall(text) if word.strip("_")]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def matching(statement: Select, words: list[str], dialect: str) -> tuple[Select, ColumnElement[float]]:
    """`statement` (a select over products) narrowed to products containing every word, and an
    expression of each product's relevance to the words, higher meaning more relevant."""
    if dialect == "postgresql":
        query = func.plainto_tsquery("english", " ".join(words))
        narrowed = statement.where(_search_vector.op("@@")(query))
        return narrowed, func.ts_rank_cd(_search_vector, query)
    # Each word quoted as an FTS5 string is a literal term, never an operator (NEAR, OR, *).
    expression = " ".join(f'"{word}"' for word in words)
    # bm25() only works in a query over the FTS table itself, so rank there and join the result.
    ranked = (
        select(_fts.c.rowid.label("product_id"),
               (-func.bm25(_fts_table, NAME_WEIGHT, DESCRIPTION_WEIGHT)).label("relevance"))
        .where(_fts_table.op("MATCH")(expression))
        .subquery("ranked")
    )
    return statement.join(ranked, ranked.c.product_id == Product.id), ranked.c.relevance
