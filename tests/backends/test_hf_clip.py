"""The transformers CLIP backend against the raw model it loads."""

import torch

from rewardkit.backends.hf_clip import HFCLIPBackend

CAPTIONS = [
    "a red car",
    "a man in a green shirt",
    "two dogs near a tree",
    "a small blue circle",
    "a cat",
    "the woman",
]


def test_hf_clip_matches_raw_model(hf_clip_dir, images):
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    backend = HFCLIPBackend(str(hf_clip_dir), device="cpu")
    model = CLIPModel.from_pretrained(hf_clip_dir).eval()
    tok = AutoTokenizer.from_pretrained(hf_clip_dir)
    proc = CLIPImageProcessor.from_pretrained(hf_clip_dir)
    with torch.no_grad():
        enc = tok(CAPTIONS, padding=True, return_tensors="pt")
        out = model(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            pixel_values=proc(images=images, return_tensors="pt")["pixel_values"],
        )
    torch.testing.assert_close(
        backend.encode_texts(CAPTIONS),
        torch.nn.functional.normalize(out.text_embeds, dim=-1),
        rtol=1e-5,
        atol=1e-5,
    )
    torch.testing.assert_close(
        backend.encode_images(images),
        torch.nn.functional.normalize(out.image_embeds, dim=-1),
        rtol=1e-5,
        atol=1e-5,
    )
