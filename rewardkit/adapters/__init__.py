"""Call-shape adapters: rewardkit rewards as verl, OpenRLHF, slime and EasyR1 call reward functions.

Each adapter scores through :func:`rewardkit.adapters.backend.ask`: a running ``rewardkit serve``
when ``RK_REWARD_URL`` is set (comma-separated URLs tried in turn; ``RK_SERVE_TOKEN`` for the
token), else the preset ``RK_PRESET`` (default ``toy``) loaded once in this process, with images
under ``RK_IMAGE_ROOT`` (default: the working folder). Either way the values are the service's.
"""
