"""The annotator's settings: how the samples are labelled.

Each sample gets the majority label of its K nearest labelled examples (Euclidean distance
between pixels; a tie goes to the nearest of the tied labels). ``--k`` overrides K.
"""

K = 3
