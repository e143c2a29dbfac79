"""Per-token returns of VLRM Table 1, computed with rewardkit's reward primitives."""

from rich.console import Console
from rich.table import Table

from rewardkit.functional import bad_phrase_flags, repeat_flags, token_returns
from rewardkit.rewards import BadPhrasePenalty, ComposedReward, NoEOSPenalty, RepeatPenalty

caption = "an image of a man in green shirt and green shirt is talking about a car"
tokens = [" " + w for w in caption.split()]
sim, ref = 3.148, -2.0  # stand-ins for the BLIP-2 ITM logit and the reference LM's mean log-prob
phrases = ["an image of", "is talking about"]

returns = token_returns(tokens, sim, ref, bad_phrases=phrases)
table = Table(title=f"VLRM Table 1 (sim = {sim}, ref = {ref})")
for col in ("token", "bad", "repeat", "R(t_k)"):
    table.add_column(col, justify="right" if col != "token" else "left")
for tok, bad, rep, ret in zip(tokens, bad_phrase_flags(tokens, phrases), repeat_flags(tokens), returns):
    table.add_row(tok.strip(), str(bad), str(rep), f"{ret:+.3f}")
Console().print(table)

reward = ComposedReward({"bad": BadPhrasePenalty(), "repeat": RepeatPenalty(), "noeos": NoEOSPenalty()})
print(
    reward.score_components(
        [caption, "a man in a green shirt talking to a woman"], ended_with_eos=[True, False]
    )
)
