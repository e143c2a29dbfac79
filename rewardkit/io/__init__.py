"""Everything read from outside: the one image loader (:mod:`rewardkit.io.images`) and its parallel pipeline."""
