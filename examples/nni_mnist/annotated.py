"""The digits trial in NNI's annotation mode: runs on its own with the values written here."""
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC


def main():
    x, y = load_digits(return_X_y=True)
    '''@nni.variable(nni.loguniform(0.01, 100), name=C)'''
    C = 1.0
    '''@nni.variable(nni.choice("rbf", "poly"), name=kernel)'''
    kernel = "rbf"
    score = cross_val_score(SVC(C=C, kernel=kernel, gamma="scale"), x[:600] / 16.0, y[:600], cv=3).mean()
    '''@nni.report_final_result(score)'''
    print(f"C={C} kernel={kernel} accuracy={score:.4f}")


if __name__ == "__main__":
    main()
