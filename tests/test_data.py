"""cnncourse.data: offline loaders, online loaders on small files in the real formats, splits, pipelines."""

import gzip
import pickle

import numpy as np
import pytest

from cnncourse import data


def _check_bunch(b, n, shape, n_classes):
    assert b.images.shape == (n,) + shape
    assert b.images.dtype == np.float32
    assert 0.0 <= b.images.min() and b.images.max() <= 1.0
    assert b.target.shape == (n,) and b.target.dtype == np.int64
    assert len(b.target_names) == n_classes == len(np.unique(b.target))
    assert isinstance(b.DESCR, str) and b.DESCR


def test_load_digits_raw_and_resized():
    raw = data.load_digits()
    _check_bunch(raw, 1797, (8, 8, 1), 10)
    big = data.load_digits(size=28)
    _check_bunch(big, 1797, (28, 28, 1), 10)
    assert np.array_equal(raw.target, big.target)
    # resizing keeps the picture: the bright centre of a 0 stays dark, the ring bright
    zero = big.images[big.target == 0].mean(0)[..., 0]
    assert zero[14, 14] < zero[14, 6]
    x, y = data.load_digits(size=(16, 12), return_X_y=True)
    assert x.shape == (1797, 16, 12, 1) and y.shape == (1797,)


def test_load_faces():
    b = data.load_faces()
    _check_bunch(b, 200, (25, 25, 1), 2)
    assert b.target_names == ["non-face", "face"]
    assert (b.target[:100] == 1).all() and (b.target[100:] == 0).all()


def test_load_textures_patch_count_and_classes():
    b = data.load_textures(patch_size=32)
    _check_bunch(b, 3 * 16 * 16, (32, 32, 1), 3)
    overlapping = data.load_textures(patch_size=64, stride=32)
    assert len(overlapping.target) == 3 * 15 * 15
    with pytest.raises(ValueError, match="patch_size"):
        data.load_textures(patch_size=1000)


def test_sample_photo():
    rgb = data.sample_photo("astronaut")
    assert rgb.shape == (512, 512, 3) and rgb.dtype == np.float32 and rgb.max() <= 1.0
    assert data.sample_photo("astronaut", gray=True).shape == (512, 512)
    assert data.sample_photo("camera").ndim == 2
    with pytest.raises(ValueError, match="Unknown photo 'dog'"):
        data.sample_photo("dog")


# ---------------------------------------------------------------- online loaders
def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNCOURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def test_fetch_mnist_from_data_dir(data_home, rng):
    xtr = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    xte = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    np.savez(data_home / "mnist.npz", x_train=xtr, y_train=np.arange(20) % 10, x_test=xte, y_test=np.arange(10))
    b = data.fetch_mnist(download=False)
    assert b.images.shape == (20, 28, 28, 1)
    assert np.allclose(b.images[..., 0], xtr / 255.0)
    assert data.fetch_mnist("test", download=False).images.shape == (10, 28, 28, 1)
    x, y = data.fetch_mnist("all", download=False, return_X_y=True)
    assert x.shape[0] == 30 and y.tolist()[-10:] == list(range(10))


def test_fetch_mnist_from_read_only_keras_home(tmp_path, monkeypatch, rng):
    keras_home = tmp_path / "shared-keras"
    (keras_home / "datasets").mkdir(parents=True)
    np.savez(
        keras_home / "datasets" / "mnist.npz",
        x_train=np.zeros((3, 28, 28), np.uint8),
        y_train=np.zeros(3),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2),
    )
    keras_home.chmod(0o555)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("CNNCOURSE_DATA_DIR", str(tmp_path / "empty"))
    try:
        assert data.fetch_mnist("test", download=False).images.shape == (2, 28, 28, 1)
    finally:
        keras_home.chmod(0o755)


def test_fetch_fashion_mnist_idx_files(data_home, rng):
    folder = data_home / "fashion-mnist"
    folder.mkdir()
    imgs = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    _write_idx(folder / "train-images-idx3-ubyte.gz", imgs)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(12) % 10)
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", imgs[:4])
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(4))
    b = data.fetch_fashion_mnist(download=False)
    assert b.images.shape == (12, 28, 28, 1) and b.target.tolist() == (np.arange(12) % 10).tolist()
    assert np.allclose(b.images[3, ..., 0], imgs[3] / 255.0)
    assert b.target_names[9] == "Ankle boot"


def test_fetch_cifar10_pickled_batches(data_home, rng):
    folder = data_home / "cifar-10-batches-py"
    folder.mkdir()
    images = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (3, 3 * 32 * 32), dtype=np.uint8)
        images[name] = x
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": x, b"labels": [1, 2, 3]}, f)
    b = data.fetch_cifar10(download=False)
    assert b.images.shape == (15, 32, 32, 3)
    # the pickles store channel planes (R then G then B); the loader returns HWC
    assert np.allclose(b.images[0, 0, 0] * 255, images["data_batch_1"][0, [0, 1024, 2048]])
    assert data.fetch_cifar10("test", download=False).target.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "loader,needle",
    [
        (data.fetch_mnist, "mnist.npz"),
        (data.fetch_fashion_mnist, "fashion-mnist/"),
        (data.fetch_cifar10, "cifar-10-batches-py/"),
    ],
)
def test_missing_dataset_says_which_file_goes_where(data_home, loader, needle):
    with pytest.raises(data.DatasetNotFoundError) as err:
        loader(download=False)
    message = str(err.value)
    assert needle in message and str(data_home) in message and "CNNCOURSE_DATA_DIR" in message


def test_subset_argument_is_validated(data_home):
    with pytest.raises(ValueError, match="subset"):
        data.fetch_mnist("validation", download=False)


# ---------------------------------------------------------------- splits
def test_train_val_split_is_stratified_and_deterministic():
    x, y = data.load_digits(return_X_y=True)
    (xa, ya), (xv, yv) = data.train_val_split(x, y, 0.2, seed=1)
    (xb, yb), _ = data.train_val_split(x, y, 0.2, seed=1)
    (xc, yc), _ = data.train_val_split(x, y, 0.2, seed=2)
    assert np.array_equal(ya, yb) and not np.array_equal(ya, yc)
    assert len(yv) == int(np.ceil(0.2 * len(y)))  # scikit-learn rounds the test part up
    shares = np.bincount(yv) / len(yv)
    assert np.allclose(shares, np.bincount(y) / len(y), atol=0.01)
    with pytest.raises(ValueError):
        data.train_val_split(x, y, 1.5)


def test_subsamples():
    x, y = data.load_digits(return_X_y=True)
    xs, ys = data.stratified_subsample(x, y, 100, seed=0)
    assert len(ys) == 100 and set(np.bincount(ys)) <= {9, 10, 11}
    assert data.stratified_subsample(x, y, None)[1] is y
    xp, yp = data.per_class_subset(x, y, 5, seed=0)
    assert np.bincount(yp).tolist() == [5] * 10
    with pytest.raises(ValueError, match="asked for"):
        data.per_class_subset(x, y, 1000)


# ---------------------------------------------------------------- pipelines
def test_pipeline_order_follows_the_performance_guide():
    x = np.random.rand(50, 8, 8, 1).astype("float32")
    y = np.arange(50) % 5
    calls = []

    def augment(images, training=False):
        calls.append(training)
        return images + 1.0

    train = data.build_pipeline(
        x, y, batch_size=16, training=True, augment=augment, preprocess=lambda a, b: (a * 2.0, b)
    )
    names = data.transformation_names(train)
    assert names[0] == "TensorSliceDataset" and names[-1] == "PrefetchDataset"
    assert names.index("CacheDataset") < names.index("ShuffleDataset") < names.index("BatchDataset")
    assert names.count("ParallelMapDataset") == 2
    assert names.index("CacheDataset") < max(i for i, n in enumerate(names) if n == "ParallelMapDataset")
    images, labels = next(iter(train))
    assert images.shape == (16, 8, 8, 1) and float(images.numpy().min()) >= 1.0  # augmented after preprocess


def test_eval_pipeline_keeps_order_and_skips_augmentation():
    x = np.arange(20, dtype="float32").reshape(20, 1, 1, 1)
    y = np.arange(20)
    ds = data.build_pipeline(x, y, batch_size=8, training=False, augment=lambda im, training: im * 0)
    got = np.concatenate([b[1].numpy() for b in ds])
    assert got.tolist() == list(range(20))
    assert "ShuffleDataset" not in data.transformation_names(ds)


def test_training_shuffle_is_repeatable_for_a_seed():
    x = np.arange(40, dtype="float32").reshape(40, 1)
    y = np.arange(40)

    def order(seed):
        return np.concatenate([b[1].numpy() for b in data.build_pipeline(x, y, 10, training=True, seed=seed)])

    assert order(3).tolist() == order(3).tolist() != order(4).tolist()
    assert sorted(order(3).tolist()) == list(range(40))
