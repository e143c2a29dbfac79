"""Bridges to the frameworks and toolkits users already run.

- Call-shape adapters (``verl``, ``openrlhf``, ``slime``, ``easyr1``): rewardkit rewards as those RL
  frameworks call reward functions. Each scores through :func:`rewardkit.adapters.backend.ask`: a
  running ``rewardkit serve`` when ``RK_REWARD_URL`` is set (comma-separated URLs tried in turn;
  ``RK_SERVE_TOKEN`` for the token), else the preset ``RK_PRESET`` (default ``toy``) loaded once in
  this process, with images under ``RK_IMAGE_ROOT`` (default: the working folder).
- ``capevalkit``: a rewardkit reward as CaptionEvalKit's metric callable, and its score files read back.
"""
