"""Real photographs to explain ImageNet models on, from the files scikit-image ships.

Every photo here is a file inside the scikit-image wheel, read through `skimage.data`; nothing
is downloaded (several other `skimage.data` images are fetched with pooch on first use and are
left out for that reason). Where an ImageNet class plainly shows what is pictured, the photo
carries that class as its label; the others (no ImageNet class fits) have none:

    name               skimage.data          ImageNet label        what it shows
    astronaut          astronaut()           --                    portrait of astronaut Eileen Collins
    chelsea            chelsea()             281 'tabby'           Chelsea the cat, a tabby
    coffee             coffee()              967 'espresso'        a cup of coffee on a saucer
    rocket             rocket()              657 'missile'         a Falcon 9 on its launch pad (no 'rocket' class)
    camera             camera()   (grey)     872 'tripod'          a cameraman at a camera on a tripod
    coins              coins()    (grey)     --                    Greek coins from Pompeii
    hubble_deep_field  hubble_deep_field()   --                    galaxies (Hubble Space Telescope)
    motorcycle         stereo_motorcycle()   --                    a motorbike (ImageNet: only 'moped', 'motor scooter')

`load_photos` gives the images as shipped (uint8, H×W×3, or H×W for the two grey ones);
`photos_batch` preprocesses them for a torchvision model; `load_photos_dataset` (what
``load_dataset("photos")`` returns) holds the labelled ones as a test set.
"""

from __future__ import annotations

import warnings
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from ..typing import DTypeLike
from ..validation import check_float_dtype
from .dataset import Dataset
from .imagenet import ImageConversionWarning, imagenet_batch
from .imagenet_classes import imagenet_class_index, imagenet_classes

__all__ = ["PHOTOS", "Photo", "load_photos", "photos_batch", "load_photos_dataset"]

Photo = namedtuple("Photo", ["loader", "imagenet_class", "description"])

PHOTOS = {
    "astronaut": Photo("astronaut", None, "portrait of astronaut Eileen Collins"),
    "chelsea": Photo("chelsea", "tabby", "Chelsea the cat, a tabby"),
    "coffee": Photo("coffee", "espresso", "a cup of coffee on a saucer"),
    "rocket": Photo("rocket", "missile", "a Falcon 9 rocket on its launch pad (ImageNet has no 'rocket')"),
    "camera": Photo("camera", "tripod", "greyscale: a cameraman at a camera on a tripod"),
    "coins": Photo("coins", None, "greyscale: Greek coins from Pompeii"),
    "hubble_deep_field": Photo("hubble_deep_field", None, "galaxies seen by the Hubble Space Telescope"),
    "motorcycle": Photo("stereo_motorcycle", None, "a motorbike (left view of a stereo pair)"),
}


def load_photos(names: Sequence[str] | None = None) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """(names, images): the photos `names` (default: all of PHOTOS, in its order) as shipped,
    uint8 arrays H×W×3 (H×W for the greyscale ones), each its own size."""
    names = _check_names(names)
    try:
        from skimage import data
    except ImportError:
        raise ImportError("load_photos needs scikit-image for its bundled photos: pip install scikit-image") from None
    images = []
    for name in names:
        image = getattr(data, PHOTOS[name].loader)()
        images.append(np.asarray(image[0] if isinstance(image, tuple) else image))  # stereo: (left, right, disparity)
    return names, images


def photos_batch(names: Sequence[str] | None = None, dtype: DTypeLike = np.float64, resize: int = 256,
                 crop: int = 224) -> tuple[np.ndarray, tuple[str, ...]]:
    """(x, names): the photos preprocessed for a torchvision ImageNet model, x of shape
    (N, 3, crop, crop) (see `imagenet_preprocess`). The grey photos are copied to the three
    channels without the ImageConversionWarning (they are known to be grey)."""
    names, images = load_photos(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageConversionWarning)
        return imagenet_batch(images, resize=resize, crop=crop, dtype=dtype), names


def load_photos_dataset(dtype: DTypeLike = np.float64) -> Dataset:
    """The labelled photos as a :class:`Dataset` for evaluating a pretrained ImageNet model:
    ``x_test`` (N, 3, 224, 224) preprocessed, ``y_test`` their ImageNet indices, ``classes`` the
    1000 ImageNet names. The train split is empty: there is nothing here to train on."""
    dtype = check_float_dtype(dtype)
    labelled = tuple(name for name, photo in PHOTOS.items() if photo.imagenet_class is not None)
    x, _ = photos_batch(labelled, dtype=dtype)
    y = np.array([imagenet_class_index(PHOTOS[name].imagenet_class) for name in labelled], dtype=np.int64)
    return Dataset(
        x_train=np.zeros((0,) + x.shape[1:], dtype=dtype),
        y_train=np.zeros(0, dtype=np.int64),
        x_test=x,
        y_test=y,
        classes=list(imagenet_classes()),
        name="photos",
    )


def _check_names(names: object) -> tuple[str, ...]:
    if names is None:
        return tuple(PHOTOS)
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, (list, tuple)) or not names:
        raise TypeError(f"names must be a photo name or a non-empty list of them ({', '.join(PHOTOS)}), got {names!r}")
    unknown = [n for n in names if n not in PHOTOS]
    if unknown:
        raise ValueError(f"names: expected photos among {', '.join(PHOTOS)}, got unknown {unknown}")
    return tuple(names)
