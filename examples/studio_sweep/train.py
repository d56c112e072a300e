"""A Studio.ml-style training script: plain variables, and a `fitness:` line.

Run by hand it uses the values below; `tunelab sweep` runs copies with other values.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

C = 1.0
gamma = 0.001

X, y = load_digits(return_X_y=True)
scores = cross_val_score(SVC(C=C, gamma=gamma), X / 16.0, y, cv=3)
print("C =", C, "gamma =", gamma)
print(f"fitness: {scores.mean()}")
