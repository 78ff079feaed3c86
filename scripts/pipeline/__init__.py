"""The PyTorch pipeline of pyramid-playground: models, training, export of packs, evaluation.

The entry points in scripts/ (train.py, export.py, evaluate.py, bench_torch.py, profile_train_step.py) put scripts/
on sys.path and import this package; docs/training.md describes the training side, docs/pack-format.md the packs.
"""
