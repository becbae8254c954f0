"""The ticket classifier: its quality on held-out tickets of the shipped corpus, the confidence
threshold, the saved model (trained lazily when absent or stale), and the CLI's train and evaluate."""

from __future__ import annotations

import joblib
import pytest

from shop.extensions import db
from shop.support import classifier
from shop.support.models import CategoryCorrection
from shop.support.service import SupportPolicy, open_ticket

from .factories import make_user

# Held-out accuracy reached on the fixed stratified split (0.904 when written); a change that
# makes the classifier worse fails here.
HELD_OUT_ACCURACY = 0.90
# No category may be found much worse than the rest.
LEAST_RECALL = 0.70


@pytest.fixture(scope="module")
def evaluation() -> classifier.Evaluation:
    return classifier.evaluate()


def test_the_corpus_is_large_and_covers_every_category():
    texts, categories = classifier.read_corpus()
    assert len(texts) >= 600
    assert len(set(texts)) == len(texts)
    assert {category: categories.count(category) >= 80 for category in classifier.CATEGORIES} == {
        category: True for category in classifier.CATEGORIES}


def test_held_out_accuracy(evaluation):
    assert evaluation.accuracy >= HELD_OUT_ACCURACY, evaluation.render()


def test_every_category_is_recalled(evaluation):
    recalls = {label: row[index] / sum(row) for index, (label, row) in enumerate(zip(evaluation.labels,
                                                                                    evaluation.matrix, strict=True))}
    assert min(recalls.values()) >= LEAST_RECALL, recalls


@pytest.mark.parametrize(("text", "category"), [
    ("where is my parcel", "shipping"),
    ("my card got charged twice for one order", "payment"),
    ("I sent the teapot back, when do I get my money?", "refund"),
    ("the handle of the frying pan is wobbly", "product"),
    ("i cant log in, password reset email never comes", "account"),
    ("do you have a shop in Leeds I can visit", "other"),
])
def test_new_wordings_land_in_their_category(tmp_path, text, category):
    prediction = classifier.classify(classifier.model(tmp_path / "model.joblib"), text, 0.0)
    assert prediction.category == category


def test_below_the_threshold_a_ticket_goes_to_triage(tmp_path):
    model = classifier.model(tmp_path / "model.joblib")
    sure = classifier.classify(model, "where is my parcel", 0.0)
    unsure = classifier.classify(model, "where is my parcel", min(1.0, sure.confidence + 0.01))
    assert (unsure.category, unsure.predicted) == ("other", sure.predicted)


def test_an_absent_model_is_trained_and_saved(tmp_path):
    path = tmp_path / "nested" / "model.joblib"
    classifier.model(path)
    assert joblib.load(path)["corpus"] == classifier.corpus_fingerprint()


def test_a_model_trained_on_another_corpus_is_replaced(tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump({"pipeline": None, "corpus": "an older corpus", "version": classifier.PIPELINE_VERSION}, path)
    model = classifier.model(path)
    assert model is not None
    assert joblib.load(path)["corpus"] == classifier.corpus_fingerprint()


def test_a_model_that_cannot_be_saved_is_kept_in_memory(tmp_path):
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    path = blocked / "model.joblib"
    first = classifier.model(path)
    assert classifier.model(path) is first
    assert classifier.classify(first, "where is my parcel", 0.0).category == "shipping"


def test_evaluate_prints_accuracy_per_category_figures_and_the_confusion_matrix(runner):
    output = runner.invoke(args=["support", "evaluate"]).output
    assert "Held-out accuracy: 0." in output
    assert "precision" in output and "recall" in output
    assert "Confusion matrix" in output
    assert all(category in output for category in classifier.CATEGORIES)


def test_train_learns_the_staff_corrections(app, runner, tmp_path):
    app.config["SUPPORT_MODEL_PATH"] = str(tmp_path / "model.joblib")
    customer, staff = make_user(), make_user("staff")
    text = "zorblax gizmo keeps glitching"  # a word the corpus never saw: the shipped model says product
    ticket = open_ticket(customer, "zorblax", text, None, SupportPolicy.from_config(app.config))
    assert ticket["predicted_category"] != "account"
    db.session.add_all([CategoryCorrection(ticket_id=ticket["id"], text=f"zorblax gizmo {number}",
                                           predicted_category=ticket["category"], category="account",
                                           staff_id=staff.id) for number in range(3)])
    db.session.commit()
    result = runner.invoke(args=["support", "train"])
    assert "3 staff corrections" in result.output
    model = classifier.model(tmp_path / "model.joblib")
    assert classifier.classify(model, text, 0.0).predicted == "account"
