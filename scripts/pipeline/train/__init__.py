"""Training of a pack: the classifier (classifier.py), the Semantic Pyramid GAN (sp.py), LAG (lag.py), in the
order scripts/train.py runs them; common.py holds what the stages share."""
