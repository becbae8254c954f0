"""Product search behind one interface, on whichever database the shop runs.

Three tries, each only when the one before finds nothing:
1. Full text on the words as typed. PostgreSQL matches the generated `search_vector` column
   (GIN-indexed, 'english' stemming, name weighted above description) and ranks with ts_rank_cd;
   SQLite matches the FTS5 `product_search` table (porter stemming) and ranks with bm25. Both stem,
   so "pans" finds "Frying Pan".
2. Full text on the words as the product names spell them (`corrected`): a word no name has
   becomes its singular, its unaccented twin or the name word one or two typos away ("lmap" ->
   "lamp", "knives" -> "knife", "cafe" -> "café"). These words are the "did you mean" suggestion.
3. Trigram similarity on the names: pg_trgm's word similarity on accent-folded names on
   PostgreSQL, FTS5's trigram table (each word a fragment of the name) on SQLite.

The customer's words never reach either query language as syntax: the text is cut into plain
word terms, which every product must contain (in some form).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from sqlalchemy import ColumnElement, Select, and_, column, false, func, literal, literal_column, select, table

from .models import Product

# A query longer than this is cut: more terms only slow the search and rarely match.
MAX_TERMS = 8
MAX_TERM_LENGTH = 40
# How much more a word in the name counts than one in the description (SQLite's bm25 weights;
# PostgreSQL weighs through the A/B labels of the generated column).
NAME_WEIGHT = 10.0
DESCRIPTION_WEIGHT = 1.0
# PostgreSQL ranks at most this many matches of a search (the first the index yields), so a common
# word ("steel") costs what a rare one does; the search's total counts these too.
CANDIDATES = 300
# Typos forgiven in a word of at least this many letters (a transposition is one): shorter words
# have too many near neighbours to guess from.
TYPOS_BY_LENGTH = ((6, 2), (4, 1))
# Trigram similarity works on runs of three letters; a shorter word is no evidence.
MIN_TRIGRAM_WORD = 3

_WORD = re.compile(r"\w+")
_LETTERS = re.compile(r"[^\W\d_]{2,}")

_search_vector = literal_column("products.search_vector")
_fts = table("product_search", column("rowid"))
_fts_table = literal_column("product_search")
_trigrams = table("product_trigrams", column("rowid"))
_trigrams_table = literal_column("product_trigrams")
search_words = table("search_words", column("word"))

Matching = Callable[[Select, list[str], str], tuple[Select, ColumnElement[float]]]


def terms(text: str) -> list[str]:
    """The words of a search box entry, lowercased; punctuation and operators are dropped."""
    words = [word.lower()[:MAX_TERM_LENGTH] for word in _WORD.findall(text) if word.strip("_")]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def fold(word: str) -> str:
    """The word without its accents: "Crème" -> "Creme"."""
    return "".join(char for char in unicodedata.normalize("NFKD", word) if not unicodedata.combining(char))


def name_words(names: Iterable[str]) -> list[str]:
    """Every word of these product names (letters only, lowercased), each once, in order."""
    return sorted({word.lower() for name in names for word in _LETTERS.findall(name)})


def _singulars(word: str) -> list[str]:
    forms = []
    if word.endswith("ves"):
        forms += [word[:-3] + "fe", word[:-3] + "f"]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return forms


def _typos_allowed(word: str) -> int:
    return next((typos for length, typos in TYPOS_BY_LENGTH if len(word) >= length), 0)


def closest_word(word: str, vocabulary: dict[str, str]) -> str | None:
    """The name word `word` means (`vocabulary` maps each name word's folded form to the word), or None.

    The word itself, else its singular, else the word fewest typos away (Damerau's optimal string
    alignment: a swap of two letters is one typo); on a tie, one with the same first letter (the
    one people mistype least), then the most alike by letters.
    """
    folded = fold(word)
    for form in [folded, *_singulars(folded)]:
        if form in vocabulary:
            return vocabulary[form]
    allowed = _typos_allowed(folded)
    if not allowed:
        return None
    near = process.extract(folded, list(vocabulary), scorer=OSA.distance, score_cutoff=allowed, limit=None)
    if not near:
        return None
    best = min(near, key=lambda match: (match[1], match[0][:1] != folded[:1], -fuzz.ratio(folded, match[0]),
                                        match[0]))
    return vocabulary[best[0]]


def corrected(words: list[str], vocabulary_words: Iterable[str]) -> list[str]:
    """The words as product names spell them; a word with no name word near it stays as typed."""
    vocabulary = {fold(word): word for word in vocabulary_words}
    return list(dict.fromkeys(closest_word(word, vocabulary) or word for word in words))


def inline(number: int) -> ColumnElement[int]:
    """A LIMIT or OFFSET written into the SQL rather than bound: once psycopg prepares a statement,
    PostgreSQL may plan it generically, and a generic plan guesses a bound LIMIT small, so it reads
    every match through the index (a bitmap of 10,000 rows for "steel") where a plan that sees LIMIT
    300 stops after 300; with the numbers written in, the generic plan costs what it does and loses."""
    return literal(number, literal_execute=True)


def _capped(statement: Select, match: ColumnElement[bool]) -> Select:
    """`statement` narrowed to the first CANDIDATES products `match`es (as the index yields them)."""
    candidates = statement.with_only_columns(Product.id).where(match).limit(inline(CANDIDATES)).subquery("candidates")
    return statement.join(candidates, candidates.c.id == Product.id)


def matching(statement: Select, words: list[str], dialect: str) -> tuple[Select, ColumnElement[float]]:
    """`statement` (a select over products) narrowed to products containing every word, and an
    expression of each product's relevance to the words, higher meaning more relevant."""
    if dialect == "postgresql":
        query = func.plainto_tsquery("english", " ".join(words))
        return _capped(statement, _search_vector.op("@@")(query)), func.ts_rank_cd(_search_vector, query)
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


def similar(statement: Select, words: list[str], dialect: str) -> tuple[Select, ColumnElement[float]]:
    """Like `matching`, but each word need only resemble part of the name, by trigrams."""
    words = [fold(word) for word in words if len(word) >= MIN_TRIGRAM_WORD]
    if not words:
        return statement.where(false()), literal(0.0)
    if dialect == "postgresql":
        # shop_fold(name) is what ix_products_name_trigrams indexes; `<%` is word similarity above
        # pg_trgm.word_similarity_threshold (0.6), answered from that index.
        name = func.shop_fold(Product.name)
        match = and_(*(literal(word).op("<%")(name) for word in words))
        relevance = sum((func.word_similarity(word, name) for word in words), literal(0.0))
        return _capped(statement, match), relevance
    # The trigram table matches a quoted word anywhere inside the name, case-insensitively.
    expression = " AND ".join(f'"{word}"' for word in words)
    ranked = (
        select(_trigrams.c.rowid.label("product_id"), (-func.bm25(_trigrams_table)).label("relevance"))
        .where(_trigrams_table.op("MATCH")(expression))
        .subquery("resembling")
    )
    return statement.join(ranked, ranked.c.product_id == Product.id), ranked.c.relevance
