"""Train the small source models the course ships, reproducibly.

    python scripts/train_source_models.py            # writes cnncourse/weights/
    python scripts/train_source_models.py --out DIR  # somewhere else

Each model is trained with a fixed seed and TensorFlow's deterministic ops
(:func:`cnncourse.runtime.set_seed`), saved as ``<name>.keras`` and described
by ``<name>.json`` beside it: the data it saw, the seed, the training settings,
its held-out accuracy and the band a retrained copy must reach (the tests
retrain it and check that band).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

# Train on the digits 0-4 of the digits-on-a-canvas task.
DIGITS04 = {
    "classes": [0, 1, 2, 3, 4],
    "seed": 0,
    "test_fraction": 0.25,
    "train_copies": 2,  # each training digit pasted at 2 random places
    "epochs": 10,
    "batch_size": 64,
    "learning_rate": 3e-3,
    "band": 0.03,  # a retrained copy must land within this of the recorded accuracy
}


def train_digits04(out_dir=None, settings=None, save=True, verbose=0):
    """Train ``digits04`` and return its training record (a dict).

    With ``save=True`` the model and its record are written to ``out_dir``
    (default: the package's ``cnncourse/weights/``).
    """
    import keras
    import tensorflow as tf

    from cnncourse.models import source
    from cnncourse.runtime import set_seed

    cfg = dict(DIGITS04, **(settings or {}))
    set_seed(cfg["seed"])
    classes = tuple(cfg["classes"])
    tr_idx, te_idx = source.split_indices(classes, cfg["test_fraction"], seed=cfg["seed"])
    train = source.digits_on_canvas(classes, copies=cfg["train_copies"], seed=cfg["seed"], indices=tr_idx)
    test = source.digits_on_canvas(classes, copies=1, seed=cfg["seed"] + 1, indices=te_idx)

    model = source.build_digits_cnn(num_classes=len(classes), name="digits04")
    model.compile(
        optimizer=keras.optimizers.Adam(cfg["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.time()
    history = model.fit(
        train.images, train.target, epochs=cfg["epochs"], batch_size=cfg["batch_size"], shuffle=True, verbose=verbose
    )
    seconds = time.time() - start
    _, accuracy = model.evaluate(test.images, test.target, verbose=0)
    accuracy = round(float(accuracy), 4)
    rec = {
        "name": "digits04",
        "file": "digits04.keras",
        "description": source.SOURCES["digits04"]["description"],
        "data": {
            "dataset": "scikit-learn handwritten digits (UCI), classes 0-4, resized to 16x16 and "
            "pasted on a black 32x32 canvas",
            "classes": list(classes),
            "train_images": int(len(train.target)),
            "train_digits": int(len(tr_idx)),
            "train_copies": cfg["train_copies"],
            "test_images": int(len(test.target)),
            "split": f"stratified, test_fraction={cfg['test_fraction']}, seed={cfg['seed']}; "
            f"training places seed {cfg['seed']}, test places seed {cfg['seed'] + 1}",
        },
        "seed": cfg["seed"],
        "deterministic_ops": True,
        "training": {
            "optimizer": "Adam",
            "learning_rate": cfg["learning_rate"],
            "epochs": cfg["epochs"],
            "batch_size": cfg["batch_size"],
            "loss": "sparse_categorical_crossentropy",
        },
        "params": int(model.count_params()),
        "train_accuracy_last_epoch": round(float(history.history["accuracy"][-1]), 4),
        "test_accuracy": accuracy,
        "accuracy_band": [round(accuracy - cfg["band"], 4), round(min(1.0, accuracy + cfg["band"]), 4)],
        "train_seconds": round(seconds, 1),
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "python": platform.python_version()},
    }
    if save:
        from cnncourse.models.source import WEIGHTS_DIR

        out = Path(out_dir or WEIGHTS_DIR)
        out.mkdir(parents=True, exist_ok=True)
        # Save an uncompiled copy: the optimizer's state is not needed and would triple the file.
        shipped = source.build_digits_cnn(num_classes=len(classes), name="digits04")
        shipped.set_weights(model.get_weights())
        shipped.save(out / "digits04.keras")
        (out / "digits04.json").write_text(json.dumps(rec, indent=1) + "\n")
    return rec, model


TRAINERS = {"digits04": train_digits04}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the .keras and .json files (default: cnncourse/weights)")
    parser.add_argument("--only", choices=sorted(TRAINERS), action="append")
    args = parser.parse_args(argv)
    for name in args.only or sorted(TRAINERS):
        rec, _ = TRAINERS[name](args.out, verbose=2)
        print(
            f"{name}: test accuracy {rec['test_accuracy']:.4f} in {rec['train_seconds']} s ({rec['params']} parameters)"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
