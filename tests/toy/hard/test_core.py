"""toy-hard scenes: relations to the main object, the compositional split, the size of the space."""

from rewardkit.toy import hard as h

Obj = h.ToyObject


def _scene(*objs: Obj, bg: str = "black") -> h.Scene:
    return h.Scene(bg, tuple(objs))


def test_relations_by_hand():
    main = Obj("circle", "red", "large", "solid", "middle center")
    assert h.relation(Obj("star", "blue", "small", "solid", "top center"), main) == "above"
    assert h.relation(Obj("star", "blue", "small", "solid", "bottom right"), main) == "below"  # diagonal
    assert h.relation(Obj("star", "blue", "small", "solid", "middle left"), main) == "left of"
    corner = Obj("circle", "red", "large", "solid", "top left")
    assert h.relation(Obj("star", "blue", "small", "solid", "bottom center"), corner) == "below"
    assert h.relation(Obj("star", "blue", "small", "solid", "middle right"), corner) == "right of"
    assert h.relation(Obj("star", "blue", "small", "solid", "top right"), corner) == "right of"


def test_training_split_excludes_and_compositional_split_holds_the_held_out_pairs():
    train = h.scenes(3000, 0)
    assert not any(h.held_out_combinations(s) for s in train)
    evaluation = h.distinct_scenes(500, 5000)
    assert all(h.held_out_combinations(s) for s in evaluation)
    assert len({h.full(s) for s in evaluation}) == 500
    texts = {h.full(s) for s in train}
    assert not texts & {h.full(s) for s in evaluation}
    # every held-out pair is said in the text of the scenes that hold it
    for s in evaluation[:100]:
        text = h.full(s)
        for a, shape in h.held_out_combinations(s):
            if a in h.COLORS:
                assert any(f"{a} {w}" in text for w in (shape, h.PLURALS[shape])), (text, a, shape)
            else:
                assert f" {a} it" in text, (text, a, shape)


def test_the_space_is_far_larger_than_the_toy_worlds():
    from rewardkit.toy import scenes as sc

    n = 4000
    hard_texts = {h.full(s) for s in h.scenes(n, 7)}
    toy_texts = {sc.full(s) for s in sc.scenes(n, 7)}
    assert n - len(hard_texts) < (n - len(toy_texts)) / 2  # repeated descriptions: 138 vs 384 measured
    counts = [len(s.objects) for s in h.scenes(n, 7)]
    assert max(counts) == 5 and min(counts) == 1
    assert any(" two " in t or " three " in t for t in hard_texts)
