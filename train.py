"""Retrain the hashtag model: `python train.py` trains on training_data/ into models/default/.

The same as `python -m classifier train`; see `python train.py --help`.
"""
import sys

from classifier.cli import main_train

if __name__ == "__main__":
    sys.exit(main_train())
