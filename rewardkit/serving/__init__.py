"""The reward service: one handler (:mod:`rewardkit.serving.handler`) behind two runners, LitServe in
one process (:mod:`rewardkit.serving.litserve_runner`) and Ray Serve replicas
(:mod:`rewardkit.serving.ray_runner`); ``rewardkit serve`` starts either."""
