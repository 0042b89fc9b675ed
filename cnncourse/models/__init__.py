"""Ready-made models the labs build on, one small module per family.

* :mod:`~cnncourse.models.small`: small CNNs given to students (e.g. the
  lecture's AlexNet-with-augmentation, scaled down);
* :mod:`~cnncourse.models.source`: the small source model the course trains
  itself and ships (``cnncourse/weights/``), for transfer learning offline;
* :mod:`~cnncourse.models.imagenet`: ``keras.applications`` networks with
  ImageNet weights from the course's data directory (never downloaded);
* :mod:`~cnncourse.models.applications`: the Keras Applications models'
  published parameters and accuracy, as a table to plot.

Graded exercises ask students to build their own blocks; none of them is here.
"""

from .imagenet import preprocess_input, pretrained, weights_file

__all__ = ["pretrained", "preprocess_input", "weights_file"]
