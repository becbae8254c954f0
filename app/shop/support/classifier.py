"""The ticket classifier: scikit-learn's complement naive Bayes over TF-IDF features of the
ticket's words and of its characters (so "recieved" and "parcell" still count), trained on the
labelled tickets shipped in corpus/tickets.csv plus the staff's corrections.

The trained pipeline is saved with joblib; a process loads it once, and trains it from the shipped
corpus when the file is absent or was trained on another version of the corpus. No Flask imports:
callers pass the path. scikit-learn (about 80 MiB with SciPy) is imported when a model is first
trained, loaded or evaluated, so processes that never classify a ticket do not carry it."""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

CATEGORIES = ("shipping", "payment", "refund", "product", "account", "other")
# Where a ticket goes for triage when the model is unsure (or has nothing to go on).
TRIAGE = "other"
CORPUS = Path(__file__).parent / "corpus" / "tickets.csv"
# The held-out share of the corpus `evaluate` measures on, and its fixed shuffle.
HELD_OUT_SHARE = 0.25
SPLIT_SEED = 42
# Bumped when the pipeline's shape changes: a model saved by another shape is retrained.
PIPELINE_VERSION = 1


@dataclass(frozen=True)
class Prediction:
    category: str  # after the threshold: TRIAGE when the model is unsure
    predicted: str  # the model's own best guess
    confidence: float


def build_pipeline() -> Pipeline:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB
    from sklearn.pipeline import FeatureUnion, Pipeline

    return Pipeline([
        ("features", FeatureUnion([
            # Words and word pairs ("charged twice", "not arrived"); rare ones dropped, counts damped.
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, strip_accents="unicode",
                                      lowercase=True)),
            # Letter runs inside word boundaries: typos and word forms ("refunded", "refnd") still match.
            ("letters", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2,
                                        strip_accents="unicode", lowercase=True)),
        ])),
        # Complement NB suits short texts and classes of unequal size; alpha smooths unseen features.
        ("bayes", ComplementNB(alpha=0.3)),
    ])


def read_corpus(path: Path = CORPUS) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as corpus:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(corpus)]
    unknown = {category for _, category in rows} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"{path} has unknown categories: {sorted(unknown)}")
    return [text for text, _ in rows], [category for _, category in rows]


def corpus_fingerprint(path: Path = CORPUS) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(extra: Iterable[tuple[str, str]] = ()) -> Pipeline:
    """A pipeline fitted on the shipped corpus and `extra` (text, category) pairs."""
    texts, categories = read_corpus()
    for text, category in extra:
        if category in CATEGORIES and text.strip():
            texts.append(text)
            categories.append(category)
    return build_pipeline().fit(texts, categories)


def save(pipeline: Pipeline, path: Path, corrections: int = 0) -> None:
    """Write the model atomically: a process loading it meanwhile sees the old or the new one."""
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        joblib.dump({"pipeline": pipeline, "corpus": corpus_fingerprint(), "version": PIPELINE_VERSION,
                     "corrections": corrections}, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


_loaded: dict[Path, tuple[float, Pipeline]] = {}
_lock = threading.Lock()


def model(path: Path) -> Pipeline:
    """The saved model at `path` (reloaded when the file changes), trained from the shipped corpus
    and saved there first if it is absent or stale."""
    with _lock:
        saved = _read(path)
        if saved is not None:
            return saved
        pipeline = train()
        try:
            save(pipeline, path)
        except OSError as error:
            # A read-only instance folder: this process keeps the model it trained, in memory.
            log.warning("the ticket classifier could not be saved to %s (%s); it is kept in memory", path, error)
            _loaded[path] = (-1.0, pipeline)
            return pipeline
        return _read(path) or pipeline


def _read(path: Path) -> Pipeline | None:
    cached = _loaded.get(path)
    try:
        modified = path.stat().st_mtime
    except OSError:
        # Kept in memory only when it could not be saved (-1); otherwise the file was removed: train anew.
        return cached[1] if cached is not None and cached[0] == -1.0 else None
    if cached is not None and cached[0] == modified:
        return cached[1]
    import joblib

    stored = joblib.load(path)
    if stored.get("version") != PIPELINE_VERSION or stored.get("corpus") != corpus_fingerprint():
        return None
    _loaded[path] = (modified, stored["pipeline"])
    return stored["pipeline"]


def classify(pipeline: Pipeline, text: str, threshold: float) -> Prediction:
    """The text's category, or TRIAGE when the model's confidence is below `threshold`."""
    if not text.strip():
        return Prediction(TRIAGE, TRIAGE, 0.0)
    probabilities = pipeline.predict_proba([text])[0]
    best = int(probabilities.argmax())
    predicted, confidence = str(pipeline.classes_[best]), float(probabilities[best])
    return Prediction(predicted if confidence >= threshold else TRIAGE, predicted, round(confidence, 4))


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    report: str
    labels: tuple[str, ...]
    matrix: list[list[int]]
    train_size: int
    test_size: int

    def render(self) -> str:
        width = max(len(label) for label in self.labels) + 2
        header = " " * width + "".join(label[:8].rjust(9) for label in self.labels)
        rows = [label.ljust(width) + "".join(str(count).rjust(9) for count in row)
                for label, row in zip(self.labels, self.matrix, strict=True)]
        return "\n".join([
            f"Held-out accuracy: {self.accuracy:.3f} ({self.test_size} tickets held out, {self.train_size} trained on; "
            f"stratified, seed {SPLIT_SEED})", "", self.report,
            "Confusion matrix (rows: true category, columns: predicted):", header, *rows])


def evaluate() -> Evaluation:
    """Train on a stratified share of the corpus and measure on the rest (a fixed split)."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
    from sklearn.model_selection import train_test_split

    texts, categories = read_corpus()
    train_texts, test_texts, train_labels, test_labels = train_test_split(
        texts, categories, test_size=HELD_OUT_SHARE, random_state=SPLIT_SEED, stratify=categories)
    predicted = build_pipeline().fit(train_texts, train_labels).predict(test_texts)
    return Evaluation(
        accuracy=float(accuracy_score(test_labels, predicted)),
        report=classification_report(test_labels, predicted, labels=list(CATEGORIES), digits=3, zero_division=0),
        labels=CATEGORIES,
        matrix=confusion_matrix(test_labels, predicted, labels=list(CATEGORIES)).tolist(),
        train_size=len(train_texts), test_size=len(test_texts))
